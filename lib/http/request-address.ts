import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';

/**
 * The peer address of a TCP socket (a TLS socket too), or `undefined` for
 * anything that is not one: the address the connection itself came from.
 */
export function socketPeerAddress(socket: unknown): string | undefined {
  return socket instanceof Socket && typeof socket.remoteAddress === 'string' ? socket.remoteAddress : undefined;
}

/**
 * The address an HTTP request came from, as its adapter trusts it, read only
 * from objects the transport made (a client's JSON can never make them):
 *
 * - Express (`req` is a Node `IncomingMessage`): `req.ip`, the socket's peer or,
 *   with `trust proxy`, the `X-Forwarded-For` hop the app trusts;
 * - Fastify (`req.raw` is one): `req.ip`, the same under `trustProxy`;
 * - a bare Node request, such as the upgrade request of a WebSocket (GraphQL
 *   subscriptions over graphql-ws): its socket's peer. Upgrades bypass the
 *   adapter, so no proxy is trusted there;
 * - anything else (a plain object a host built, e.g. from GraphQL
 *   `connectionParams`): `undefined`, no address.
 */
export function requestAddress(request: Record<string, any>): string | undefined {
  if (request instanceof IncomingMessage) {
    const ip: unknown = (request as IncomingMessage & { ip?: unknown }).ip;
    return typeof ip === 'string' ? ip : socketPeerAddress(request.socket);
  }
  if (request.raw instanceof IncomingMessage) return typeof request.ip === 'string' ? request.ip : undefined;
  return undefined;
}

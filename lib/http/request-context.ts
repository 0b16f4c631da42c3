import type { ExecutionContext } from '@nestjs/common';
import type { ApiKeyPrincipal } from '../verification/api-key.principal.js';
import type { KeyVerifier } from '../verification/key-verifier.js';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Socket } from 'node:net';

/**
 * The per-request context object of a GraphQL operation: the third resolver
 * argument. Apollo puts the HTTP request in `req` (and `res` when the app's
 * `context` function passes it); Mercurius puts Fastify's `reply` (with
 * `reply.request`) there.
 */
interface GraphQLRequestContext {
  req?: Record<string, any>;
  res?: Record<string, any>;
  request?: Record<string, any>;
  reply?: Record<string, any> & { request?: Record<string, any> };
}

function graphQLContext(context: ExecutionContext): GraphQLRequestContext {
  return (context.getArgs()[2] ?? {}) as GraphQLRequestContext;
}

/**
 * The HTTP request behind an execution context: the Express/Fastify request for
 * HTTP handlers, and the request in the GraphQL context for resolvers
 * (`req` for Apollo, `reply.request` for Mercurius). Needs no GraphQL package.
 */
export function requestOf(context: ExecutionContext): Record<string, any> {
  // The handler's first argument, as `switchToHttp().getRequest()` gives it, without the three closures Nest's
  // `switchToHttp()` makes on every call.
  if (context.getType<string>() !== 'graphql') return context.getArgs()[0];
  const gql = graphQLContext(context);
  return gql.req ?? gql.request ?? gql.reply?.request ?? {};
}

/**
 * The HTTP response behind an execution context, to set challenge headers on:
 * for resolvers the GraphQL context's `res` (Apollo with a `context` that
 * passes it), `reply` (Mercurius), or Express's `req.res`.
 */
export function responseOf(context: ExecutionContext): Record<string, any> | undefined {
  const type = context.getType<string>();
  if (type === 'ws' || type === 'rpc') return undefined;
  if (type !== 'graphql') return context.getArgs()[1];
  const gql = graphQLContext(context);
  return gql.res ?? gql.reply ?? gql.req?.res;
}

/**
 * The identity of one HTTP exchange: the in-flight response (Node's
 * `ServerResponse`, the raw one under a Fastify reply) that belongs to this
 * request, or `undefined` when there is none: a WebSocket or RPC context, a
 * GraphQL subscription, a WebSocket upgrade request reused for every
 * operation, an ended response. Only an exchange may share a guard verdict
 * between the guards that run for it.
 */
export function httpExchangeOf(
  context: ExecutionContext,
  request: Record<string, any>,
  response: Record<string, any> | undefined,
): object | undefined {
  const type = context.getType<string>();
  if (type !== 'http' && type !== 'graphql') return undefined;
  if (type === 'graphql' && context.getArgs()[3]?.operation?.operation === 'subscription') return undefined;
  // Node's own objects (Express's, Fastify's `raw`) are told by their class: no lookup of a property they lack.
  const raw: unknown = isNodeResponse(response) ? response : response?.raw;
  if (!isNodeResponse(raw) || raw.writableEnded) return undefined;
  // Node's response knows its request: it must be this one.
  if (raw.req !== (request instanceof IncomingMessage || request instanceof Http2ServerRequest ? request : request.raw))
    return undefined;
  return raw;
}

/** A response object Node's HTTP/1 or HTTP/2 (compatibility API) server made. */
function isNodeResponse(value: unknown): value is ServerResponse | Http2ServerResponse {
  return value instanceof ServerResponse || value instanceof Http2ServerResponse;
}

/**
 * Verdicts given during one HTTP exchange (keyed by its in-flight response),
 * per key setup (keyed by the setup's verifier): a guard bound both globally
 * and with `@UseGuards` verifies, counts and charges a request once, while
 * another setup (another ApiKeyModule, the remote module) verifies for
 * itself, and a long-lived object (a WebSocket, a GraphQL subscription, an
 * RPC channel) is never an exchange: every operation on it is judged anew.
 * Private, so a client-set property can never pass for one.
 */
const verdicts = new WeakMap<KeyVerifier, WeakMap<object, ApiKeyPrincipal>>();

/**
 * The verdicts of one key setup (its verifier), by HTTP exchange: a guard takes
 * its setup's once, so a request costs one lookup and, when admitted, one entry.
 */
export function admissionsOf(setup: KeyVerifier): WeakMap<object, ApiKeyPrincipal> {
  let byExchange = verdicts.get(setup);
  if (!byExchange) verdicts.set(setup, (byExchange = new WeakMap()));
  return byExchange;
}

/** The principal this key setup (its verifier) already admitted in this HTTP exchange, if any. */
export function admittedIn(exchange: object, setup: KeyVerifier): ApiKeyPrincipal | undefined {
  return verdicts.get(setup)?.get(exchange);
}

/** Remembers that this key setup admitted `principal` in this HTTP exchange (for as long as the exchange lives). */
export function rememberAdmission(exchange: object, setup: KeyVerifier, principal: ApiKeyPrincipal): void {
  admissionsOf(setup).set(exchange, principal);
}

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

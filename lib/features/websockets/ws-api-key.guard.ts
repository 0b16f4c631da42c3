import { Injectable, type ExecutionContext, type HttpException } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { ApiKeyGuard } from '../../http/api-key.guard.js';
import { withCredential, type ExtractedCredential } from '../../http/credential.js';
import { socketPeerAddress } from '../../http/request-context.js';
import { routeRuleOf } from '../../http/route-rule.js';
import { API_KEY_REQUEST_PROPERTY } from '../../verification/api-key.principal.js';

const handshakes = new WeakMap<object, Record<string, any>>();

/**
 * Keeps the upgrade request of a `ws` (`@nestjs/platform-ws`) client, whose
 * headers `WsApiKeyGuard` reads the key from and whose socket's peer address
 * it checks IP allowlists against: Nest hands it to `handleConnection` only.
 * Not needed with socket.io (its `handshake` is kept).
 * @example
 * handleConnection(client: WebSocket, request: IncomingMessage) {
 *   rememberHandshake(client, request);
 * }
 */
export function rememberHandshake(client: object, request: object): void {
  handshakes.set(client, request as Record<string, any>);
}

/**
 * `ApiKeyGuard` for WebSocket gateways (`@nestjs/websockets`, socket.io or
 * ws): the key comes from the handshake's headers (`Authorization: Bearer`,
 * the module's header) or socket.io's `auth` payload (`auth: { apiKey }`), and
 * every message is judged on the key's state at its own time (a key revoked
 * between two messages refuses the second). Refusals are `WsException`s
 * carrying `{ status: 'error', statusCode, message }`. `@CurrentApiKey()`
 * works in the handler. Override `authField` to read another `auth` field.
 *
 * A key's IP allowlist is checked against the connection's peer address:
 * socket.io's (engine.io's) `remoteAddress`, or for ws the TCP peer of the
 * upgrade request kept by {@link rememberHandshake} (else the client's own
 * socket). Never `X-Forwarded-For` nor the `auth` payload: behind a reverse
 * proxy, the peer is the proxy.
 * @example
 * @UseGuards(WsApiKeyGuard)
 * @WebSocketGateway()
 * export class OrdersGateway {
 *   @Scopes('orders:read')
 *   @SubscribeMessage('orders')
 *   orders(@CurrentApiKey('ownerId') ownerId: string) {}
 * }
 */
@Injectable()
export class WsApiKeyGuard extends ApiKeyGuard {
  /** The field of socket.io's handshake `auth` payload that may carry the key; `false` for none. */
  protected readonly authField: string | false = 'apiKey';

  /** A `@Public()` handler passes with no principal: a principal an earlier message left on the socket is none. */
  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (!routeRuleOf(context.getClass(), context.getHandler()).isPublic) return super.canActivate(context);
    delete this.getRequest(context)[API_KEY_REQUEST_PROPERTY];
    return true;
  }

  protected override getRequest(context: ExecutionContext): Record<string, any> {
    return context.switchToWs().getClient();
  }

  protected override getResponse(): undefined {
    return undefined;
  }

  protected override readCredential(context: ExecutionContext, client: Record<string, any>): ExtractedCredential {
    const request = handshakes.get(client);
    const handshake = client.handshake as { headers?: Record<string, any>; auth?: Record<string, unknown> } | undefined;
    const fromHeaders = request
      ? super.readCredential(context, request)
      : this.credentialFromHeaders(handshake?.headers ?? {});
    return this.authField ? withCredential(fromHeaders, handshake?.auth?.[this.authField]) : fromHeaders;
  }

  /** The connection's peer: the ws upgrade request's socket, socket.io's `conn.remoteAddress`, or ws's own socket. */
  protected override clientAddress(_context: ExecutionContext, client: Record<string, any>): string | undefined {
    const upgrade = handshakes.get(client);
    if (upgrade) return socketPeerAddress(upgrade.socket);
    // socket.io: engine.io took it from the TCP socket of the connection's first request.
    const engine = client.conn as { remoteAddress?: unknown } | undefined;
    if (client.handshake && typeof engine?.remoteAddress === 'string') return engine.remoteAddress;
    return socketPeerAddress(client._socket); // ws, without rememberHandshake
  }

  protected override reject(exception: HttpException): WsException {
    return new WsException({ status: 'error', statusCode: exception.getStatus(), message: exception.message });
  }
}

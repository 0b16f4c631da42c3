import { Injectable, type ExecutionContext, type HttpException } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { ApiKeyGuard } from '../../http/api-key.guard.js';
import { withCredential, type ExtractedCredential } from '../../http/credential-extractor.js';

const handshakes = new WeakMap<object, Record<string, any>>();

/**
 * Keeps the upgrade request of a `ws` (`@nestjs/platform-ws`) client, whose
 * headers `WsApiKeyGuard` reads the key from: Nest hands it to
 * `handleConnection` only. Not needed with socket.io (its `handshake` is kept).
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

  protected override reject(exception: HttpException): WsException {
    return new WsException({ status: 'error', statusCode: exception.getStatus(), message: exception.message });
  }
}

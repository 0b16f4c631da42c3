import { Injectable, type ExecutionContext, type HttpException } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { ApiKeyGuard } from '../../http/api-key.guard.js';
import { withCredential, type ExtractedCredential } from '../../http/credential.js';
import { socketPeerAddress } from '../../http/request-context.js';
import { routeRuleOf } from '../../http/route-rule.js';
import { API_KEY_REQUEST_PROPERTY } from '../../verification/api-key.principal.js';

type HeaderLines = Record<string, string[]>;

/** NATS `MsgHdrs` (`keys()` + `values()`), gRPC `Metadata` (`get()`), or a plain record (RabbitMQ, Kafka). */
function metadataLines(metadata: any, names: readonly string[]): HeaderLines {
  const lines: HeaderLines = {};
  if (!metadata || typeof metadata !== 'object') return lines;
  if (typeof metadata.keys === 'function' && typeof metadata.values === 'function') {
    for (const key of metadata.keys() as string[]) {
      const name = key.toLowerCase();
      if (names.includes(name)) (lines[name] ??= []).push(...(metadata.values(key) as string[]));
    }
  } else if (typeof metadata.get === 'function') {
    for (const name of names) {
      const values = (metadata.get(name) as unknown[]).filter((value) => typeof value === 'string') as string[];
      if (values.length) lines[name] = values;
    }
  } else {
    for (const [key, value] of Object.entries(metadata)) {
      const name = key.toLowerCase();
      if (names.includes(name) && value !== undefined)
        (lines[name] ??= []).push(...(Array.isArray(value) ? value : [value]).map(String));
    }
  }
  return lines;
}

/**
 * `ApiKeyGuard` for microservice handlers (`@nestjs/microservices`): the key
 * comes from the message's metadata where the transport's context offers
 * `getHeaders()` (NATS headers: `authorization: Bearer <key>` or the module's
 * header) or from a payload field (`apiKey` by default: TCP, Redis, and today
 * RabbitMQ, MQTT, Kafka and gRPC too, whose contexts hand no headers to the
 * guard), and every message is judged on the key's state at its own time. Refusals are `RpcException`s carrying `{ statusCode, message }`.
 *
 * A key's IP allowlist is checked against the peer address of the TCP
 * transport's socket (`TcpContext`), never a payload field. The other
 * transports (NATS, Redis, RabbitMQ, MQTT, Kafka, gRPC) carry messages
 * through a broker or give no peer the guard can trust: a key with an
 * allowlist is refused there (403), with a warning naming the transport; keys
 * without one are unaffected.
 *
 * The principal replaces nothing in the payload: `@CurrentApiKey()` reads it
 * from the payload object's `apiKey` property, which the guard sets (a
 * payload's own `apiKey` value is the key, and is overwritten once verified).
 * Override `payloadField` (or `false`) to read another field, or none.
 * @example
 * @UseGuards(RpcApiKeyGuard)
 * @Controller()
 * export class OrdersHandler {
 *   @Scopes('orders:read')
 *   @MessagePattern('orders.list')
 *   list(@Payload() data: { ownerId: string }) {}
 * }
 */
@Injectable()
export class RpcApiKeyGuard extends ApiKeyGuard {
  /** The payload field that may carry the key; `false` to read metadata only. */
  protected readonly payloadField: string | false = 'apiKey';

  /** A `@Public()` handler passes with no principal: the payload's own `apiKey` (a key, or anything the client wrote) is none. */
  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (!routeRuleOf(context.getClass(), context.getHandler()).isPublic) return super.canActivate(context);
    delete this.getRequest(context)[API_KEY_REQUEST_PROPERTY];
    return true;
  }

  protected override getRequest(context: ExecutionContext): Record<string, any> {
    const data = context.switchToRpc().getData();
    // A payload that is not an object has nowhere to carry the principal: a private holder.
    return data !== null && typeof data === 'object' ? data : {};
  }

  protected override getResponse(): undefined {
    return undefined;
  }

  protected override readCredential(context: ExecutionContext, data: Record<string, any>): ExtractedCredential {
    const rpc = context.switchToRpc().getContext();
    const metadata = typeof rpc?.getHeaders === 'function' ? rpc.getHeaders() : undefined;
    const fromMetadata = this.credentialFromHeaders(metadataLines(metadata, this.credentialHeaders));
    return this.payloadField ? withCredential(fromMetadata, data[this.payloadField]) : fromMetadata;
  }

  /** TCP: the socket's peer. Every other transport: none (a key with an allowlist is refused). */
  protected override clientAddress(context: ExecutionContext): string | undefined {
    const rpc = context.switchToRpc().getContext();
    // TcpContext (duck-typed, so that a second copy of @nestjs/microservices still works): its JSON socket's net.Socket.
    return typeof rpc?.getSocketRef === 'function' ? socketPeerAddress(rpc.getSocketRef()?.socket) : undefined;
  }

  /** `tcp`, `nats`, `redis`, `rmq`, `mqtt`, `kafka` (from the transport's context class), `grpc`, else `rpc`. */
  protected override transportName(context: ExecutionContext): string {
    const rpc = context.switchToRpc().getContext();
    const name: unknown = rpc?.constructor?.name;
    if (typeof name === 'string' && /^[A-Z][a-z]+Context$/.test(name))
      return name.slice(0, -'Context'.length).toLowerCase();
    return typeof context.getArgs()[2]?.getPeer === 'function' ? 'grpc' : 'rpc';
  }

  protected override reject(exception: HttpException): RpcException {
    return new RpcException({ statusCode: exception.getStatus(), message: exception.message });
  }
}

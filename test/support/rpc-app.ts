import { Controller, UseGuards, type INestApplication } from '@nestjs/common';
import {
  ClientProxyFactory,
  MessagePattern,
  Transport,
  type ClientProxy,
  type ClientOptions,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import type { AddressInfo, Server } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { ApiKeyModule, ApiKeyService, CurrentApiKey, Scopes } from 'nestjs-opaque-keys';
import { RpcApiKeyGuard } from 'nestjs-opaque-keys/microservices';
import { LogCapture } from './log-capture.js';
import { testTypeOrmModule } from './test-app.js';

/** A pattern of this run only: brokers (NATS, Redis) are shared with parallel runs. */
export const RPC_PATTERN = `opaque-keys-test.${randomUUID()}.orders`;

/** The refusal of a key whose allowlist refuses the caller, as every RPC client sees it. */
export const ADDRESS_REFUSED = {
  error: { statusCode: 403, message: 'This API key may not be used from this address' },
};

/** Payload fields a client might hope the guard reads an address from. */
export const FORGED_ADDRESS = {
  ip: '203.0.113.7',
  remoteAddress: '203.0.113.7',
  socket: { remoteAddress: '203.0.113.7' },
};

@Controller()
@UseGuards(RpcApiKeyGuard)
class OrdersHandler {
  @Scopes('orders:read')
  @MessagePattern(RPC_PATTERN)
  orders(@CurrentApiKey('id') id: string) {
    return { id };
  }
}

/** A running microservice app with a client of its transport. */
export interface RpcTestApp {
  app: INestApplication;
  service: ApiKeyService;
  logs: LogCapture;
  /** Sends `data` to the guarded handler: its answer, or the error the client's observable ended with. */
  send(data: unknown): Promise<{ answer?: unknown; error?: unknown }>;
  close(): Promise<void>;
}

/**
 * Starts a real Nest app with `RpcApiKeyGuard` on a handler of {@link RPC_PATTERN},
 * served over `transport` (TCP on port 0 of 127.0.0.1, or a broker), and a real
 * client of that transport (`client(port)` builds its options; `port` is the TCP
 * server's, if any).
 */
export async function startRpcApp(
  transport: MicroserviceOptions,
  client: (port?: number) => ClientOptions,
): Promise<RpcTestApp> {
  const logs = new LogCapture();
  const moduleRef = await Test.createTestingModule({
    imports: [testTypeOrmModule(), ApiKeyModule.forRoot({})],
    controllers: [OrdersHandler],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: logs });
  const microservice = app.connectMicroservice(transport);
  await app.startAllMicroservices();
  await app.init();
  const server =
    'transport' in transport && transport.transport === Transport.TCP ? microservice.unwrap<Server>() : undefined;
  const proxy: ClientProxy = ClientProxyFactory.create(client((server?.address() as AddressInfo | null)?.port));
  await proxy.connect();
  return {
    app,
    service: app.get(ApiKeyService),
    logs,
    async send(data) {
      try {
        return { answer: await firstValueFrom(proxy.send(RPC_PATTERN, data)) };
      } catch (error) {
        return { error };
      }
    },
    async close() {
      await proxy.close();
      await app.close();
    },
  };
}

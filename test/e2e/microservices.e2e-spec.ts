import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { Controller, UseGuards, type INestApplication } from '@nestjs/common';
import {
  ClientProxyFactory,
  MessagePattern,
  NatsRecordBuilder,
  Payload,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { ApiKeyModule, ApiKeyService, CurrentApiKey, Public, Scopes } from 'nestjs-opaque-keys';
import { RpcApiKeyGuard } from 'nestjs-opaque-keys/microservices';
import { testTypeOrmModule } from '../support/test-app.js';
import { LogCapture } from '../support/log-capture.js';

/** A subject of this run only: the NATS server is shared. */
const SUBJECT = `opaque-keys-test.${randomUUID()}.orders`;
const NATS = { servers: [process.env.NATS_URL ?? 'nats://127.0.0.1:4222'] };

@Controller()
@UseGuards(RpcApiKeyGuard)
class OrdersHandler {
  @Scopes('orders:read')
  @MessagePattern(SUBJECT)
  orders(@CurrentApiKey('id') id: string) {
    return { id };
  }

  @Public()
  @MessagePattern(`${SUBJECT}.public`)
  open(@CurrentApiKey() key: unknown, @Payload() data: Record<string, unknown>) {
    return { key: key ?? null, apiKeyInPayload: 'apiKey' in data };
  }
}

describe('RpcApiKeyGuard on a NATS microservice (real NATS transport)', () => {
  let app: INestApplication;
  let client: ClientProxy;
  let service: ApiKeyService;
  const logs = new LogCapture();
  const issued: string[] = [];

  /** The handler's answer, or the RpcException's error. */
  async function send(
    data: unknown,
    headerKey?: string,
    subject = SUBJECT,
  ): Promise<{ answer?: unknown; error?: unknown }> {
    let record: unknown = data;
    if (headerKey) {
      const headers = natsHeaders();
      headers.set('Authorization', `Bearer ${headerKey}`);
      record = new NatsRecordBuilder(data).setHeaders(headers).build();
    }
    try {
      return { answer: await firstValueFrom(client.send(subject, record)) };
    } catch (error) {
      return { error };
    }
  }

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [testTypeOrmModule(), ApiKeyModule.forRoot({})],
      controllers: [OrdersHandler],
    }).compile();
    app = moduleRef.createNestApplication({ logger: logs });
    app.connectMicroservice({ transport: Transport.NATS, options: NATS });
    await app.startAllMicroservices();
    await app.init();
    service = app.get(ApiKeyService);
    client = ClientProxyFactory.create({ transport: Transport.NATS, options: NATS });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    const text = logs.lines.join('\n');
    for (const key of issued) expect(text).not.toContain(key);
  });

  it('admits a key in the payload field and refuses the next message once it is revoked', async () => {
    const { key, record } = await service.issue({ name: 'rpc', scopes: ['orders:read'] });
    issued.push(key);
    expect(await send({ apiKey: key })).toEqual({ answer: { id: record.id } });
    await service.revoke(record.id, 'test');
    expect(await send({ apiKey: key })).toEqual({ error: { statusCode: 401, message: 'Invalid API key' } });
  });

  it('reads Authorization: Bearer from the NATS headers and checks scopes per message', async () => {
    const { key, record } = await service.issue({ name: 'rpc', scopes: ['orders:read'] });
    issued.push(key);
    expect(await send({}, key)).toEqual({ answer: { id: record.id } });
    await service.updateScopes(record.id, ['other']);
    expect(await send({}, key)).toEqual({ error: { statusCode: 403, message: 'Insufficient scope' } });
  });

  it('refuses a message without a key, a forged principal in the payload, and two different keys', async () => {
    const a = await service.issue({ name: 'a', scopes: ['orders:read'] });
    const b = await service.issue({ name: 'b', scopes: ['orders:read'] });
    issued.push(a.key, b.key);
    expect(await send({})).toEqual({ error: { statusCode: 401, message: 'API key required' } });
    expect(await send({ apiKey: { id: a.record.id, scopes: ['*'] } })).toEqual({
      error: { statusCode: 401, message: 'Invalid API key' },
    });
    expect(await send({ apiKey: a.key }, b.key)).toEqual({
      error: { statusCode: 400, message: 'Send one API key, not two different ones' },
    });
  });

  it('hands a @Public() handler no principal, whatever the payload carries as apiKey (a forged principal, a key)', async () => {
    const { key } = await service.issue({ name: 'rpc', scopes: ['*'] });
    issued.push(key);
    for (const apiKey of [{ id: 'forged', ownerId: 'victim', scopes: ['*'] }, key]) {
      expect(await send({ apiKey }, undefined, `${SUBJECT}.public`)).toEqual({
        answer: { key: null, apiKeyInPayload: false },
      });
    }
  });
});

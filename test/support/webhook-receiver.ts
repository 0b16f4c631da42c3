import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request the receiver got, with the Standard Webhooks verification of its signature. */
export interface ReceivedWebhook {
  id: string;
  headers: Record<string, string>;
  body: string;
  /** The payload `Webhook.verify` returned, or the error it threw. */
  verified: unknown;
  valid: boolean;
  /** What the receiver answered: a status, or `'hang'` (never). */
  answer: number | 'hang';
}

/** What the receiver answers to its n-th request (0-based): a status, or `'hang'` to never answer. */
export type Responder = (n: number, request: IncomingMessage) => number | 'hang';

/** A real HTTP webhook receiver on 127.0.0.1 (port 0) that verifies every signature with standardwebhooks. */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  respond: Responder;
  /** Resolves once `count` requests arrived, or rejects after `ms`. */
  waitFor(count: number, ms?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** Starts a receiver verifying with `secret`; answers 200 unless `respond` says otherwise. */
export async function startWebhookReceiver(secret: string, respond: Responder = () => 200): Promise<WebhookReceiver> {
  const webhook = new Webhook(secret);
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
      let verified: unknown;
      let valid = true;
      try {
        verified = webhook.verify(body, headers);
      } catch (error) {
        verified = error;
        valid = false;
      }
      const answer = receiver.respond(received.length, request);
      received.push({ id: headers['webhook-id'], headers, body, verified, valid, answer });
      if (answer === 'hang') return;
      response.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    respond,
    async waitFor(count, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (received.length < count) {
        if (Date.now() > deadline)
          throw new Error(`receiver got ${received.length} of ${count} webhooks within ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return received;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

/** A URL on 127.0.0.1 where nothing listens (a port just freed). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/hooks`;
}

/** Polls `check` every 10 ms until it returns a truthy value, or throws after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

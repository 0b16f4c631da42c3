import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** What one attempt got: an HTTP status, or an error (refused, reset, timed out, aborted). */
export type WebhookAttemptResult = { status: number; error?: undefined } | { status?: undefined; error: string };

/** One POST to send. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Aborts the attempt (shutdown). */
  signal: AbortSignal;
}

/**
 * POSTs one delivery and resolves with its outcome; never rejects. A fresh
 * connection per attempt (no keep-alive agent, so nothing holds the process
 * open after shutdown), redirects are not followed (a 3xx is a failure), the
 * response body is read and discarded.
 */
export function sendWebhook({ url, headers, body, timeoutMs, signal }: WebhookRequest): Promise<WebhookAttemptResult> {
  if (signal.aborted) return Promise.resolve({ error: 'aborted: shutting down' });
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: WebhookAttemptResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const request = send(url, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    const timer = setTimeout(() => {
      finish({ error: `no answer within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    timer.unref();
    const onAbort = () => {
      finish({ error: 'aborted: shutting down' });
      request.destroy();
    };
    request.on('error', (error) => finish({ error: error.message || String(error) }));
    signal.addEventListener('abort', onAbort, { once: true });
    request.on('response', (response) => {
      response.on('error', () => undefined);
      response.on('end', () => finish({ status: response.statusCode ?? 0 }));
      response.resume();
    });
    request.end(body);
  });
}

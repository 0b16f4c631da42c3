import { request as httpRequest, type Agent } from 'node:http';

/**
 * GET `http://127.0.0.1:<port><path>` with the key in `X-API-Key` over a
 * keep-alive `agent`, body discarded: the status code. For tests that stream
 * many requests at a running app (supertest opens a connection per request).
 */
export function statusOf(agent: Agent, port: number, path: string, apiKey: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent, headers: { 'x-api-key': apiKey } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

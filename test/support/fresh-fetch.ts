import { request } from 'node:http';

/** The parts of `fetch`'s init the tests use. */
export interface FreshFetchInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * `fetch` over a new connection each time (plain HTTP). Node's `fetch` keeps idle sockets and reuses them; a test
 * that pauses longer than the server's keep-alive timeout (a CLI run on a loaded machine) can then send on a socket
 * the server is closing ("other side closed"). A test of another process's server uses this instead.
 */
export function freshFetch(url: string, init: FreshFetchInit = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('error', reject);
      answer.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(answer.headers))
          for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value])
            headers.append(name, one);
        const status = answer.statusCode ?? 0;
        const body = chunks.length === 0 || [204, 304].includes(status) ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status, statusText: answer.statusMessage, headers }));
      });
    });
    sent.on('error', reject);
    sent.end(init.body);
  });
}

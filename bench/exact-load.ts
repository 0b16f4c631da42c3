/**
 * A load generator that sends an exact number of requests: `GET url` with
 * `Authorization: Bearer <key>` (rotating through `keys`) on `connections`
 * keep-alive connections, each sending its next request when the previous
 * answer has arrived. For the instructions mode, where a window is a count of
 * requests, not a duration.
 */
import http from 'node:http';

/** What came back. */
export interface LoadCount {
  readonly requests: number;
  /** Responses with another status than the expected one. */
  readonly unexpected: number;
}

/** Sends `requests` requests; resolves when every answer has arrived. */
export async function loadExactly(
  url: string,
  keys: readonly string[],
  requests: number,
  connections: number,
  expected: number,
): Promise<LoadCount> {
  const { hostname, port, pathname } = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let sent = 0;
  let answered = 0;
  let unexpected = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const next = () => {
        if (sent >= requests) {
          if (answered >= requests) resolve();
          return;
        }
        send(keys[sent++ % keys.length], 0);
      };
      // A keep-alive socket the server closed as a request went out: sent again (the server answered nothing on it).
      const send = (key: string, attempt: number): void => {
        const request = http.get(
          { hostname, port, path: pathname, agent, headers: { authorization: `Bearer ${key}` } },
          (response) => {
            if (response.statusCode !== expected) unexpected++;
            response.resume();
            response.once('end', () => {
              answered++;
              next();
            });
          },
        );
        request.once('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNRESET' && attempt < 3) send(key, attempt + 1);
          else reject(error);
        });
      };
      for (let i = 0; i < Math.min(connections, requests); i++) next();
    });
  } finally {
    agent.destroy();
  }
  return { requests, unexpected };
}

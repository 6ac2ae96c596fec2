import { request as httpRequest } from 'node:http';

/** What the gateway answered a request whose body never finished. */
export interface StalledAnswer {
  status: number;
  body: string;
  /** The answer's x-request-id. */
  id: string | null;
}

/**
 * POSTs a chat request that declares a 1000-byte body, sends a few bytes of it and no more, and
 * resolves with the gateway's answer (a 408 once the body's time bound passes).
 */
export function stalledChat(baseURL: string, key: string): Promise<StalledAnswer> {
  const url = new URL(`${baseURL}/v1/chat/completions`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': '1000',
        },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString('utf8');
        });
        res.on('end', () => {
          req.destroy();
          const id = res.headers['x-request-id'];
          resolve({ status: res.statusCode ?? 0, body, id: typeof id === 'string' ? id : null });
        });
      },
    );
    req.on('error', reject);
    req.write('{"model":');
  });
}

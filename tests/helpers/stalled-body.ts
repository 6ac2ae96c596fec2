import type { ClientRequest } from 'node:http';
import { request as httpRequest } from 'node:http';

/** What the gateway answered a chat request sent over a plain socket. */
export interface StalledAnswer {
  status: number;
  body: string;
  /** The answer's x-request-id. */
  id: string | null;
}

/**
 * Opens a chat-completions POST over a plain socket with the key's headers and `headers` on top,
 * leaving the body to the caller (write it in pieces, or stop half-way). `answer` resolves with the
 * gateway's answer once it has been read whole.
 */
export function rawChatRequest(
  baseURL: string,
  key: string,
  headers: Record<string, string>,
): { req: ClientRequest; answer: Promise<StalledAnswer> } {
  const url = new URL(`${baseURL}/v1/chat/completions`);
  let req: ClientRequest | undefined;
  const answer = new Promise<StalledAnswer>((resolve, reject) => {
    req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString('utf8');
        });
        res.on('end', () => {
          const id = res.headers['x-request-id'];
          resolve({ status: res.statusCode ?? 0, body, id: typeof id === 'string' ? id : null });
        });
      },
    );
    // The gateway may answer (413, 408) and close before the client has written everything.
    req.on('error', (err) => (req?.writableEnded ? undefined : reject(err)));
  });
  if (!req) throw new Error('the request was not opened');
  return { req, answer };
}

/**
 * POSTs a chat request that declares a 1000-byte body, sends a few bytes of it and no more, and
 * resolves with the gateway's answer (a 408 once the body's time bound passes).
 */
export async function stalledChat(baseURL: string, key: string): Promise<StalledAnswer> {
  const { req, answer } = rawChatRequest(baseURL, key, { 'content-length': '1000' });
  req.write('{"model":');
  try {
    return await answer;
  } finally {
    req.destroy();
  }
}

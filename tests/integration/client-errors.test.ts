import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../helpers/test-gateway.js';
import { startTestGateway } from '../helpers/test-gateway.js';

let gateway: TestGateway;

beforeAll(async () => {
  // Headers share the body's bound: a second here, so the stalled client below is answered soon.
  gateway = await startTestGateway({ REQUEST_BODY_TIMEOUT_MS: '1000' });
});

afterAll(async () => {
  await gateway?.stop();
});

/** Sends raw bytes on a new connection and resolves with everything the server sent back. */
function exchange(bytes: string, port = gateway.server.port): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

/** The status, headers (lower-case) and JSON body of a raw HTTP/1.1 answer. */
function parse(answer: string) {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map(
    lines.map((l) => [
      l.slice(0, l.indexOf(':')).toLowerCase(),
      l.slice(l.indexOf(':') + 1).trim(),
    ]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as unknown };
}

function accessLines(requestId: string | undefined) {
  return gateway.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'request' && l.requestId === requestId);
}

describe('requests refused by the HTTP parser', () => {
  it.each([
    {
      what: 'headers too large',
      bytes: `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      status: 431,
      code: 'request_header_fields_too_large',
    },
    {
      what: 'a malformed request line',
      bytes: 'NOT HTTP AT ALL\r\n\r\n',
      status: 400,
      code: 'invalid_http',
    },
    {
      what: 'headers that stop arriving',
      bytes: 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n',
      status: 408,
      code: 'request_timeout',
    },
  ])(
    'answers $what with $status in OpenAI’s shape and logs it',
    async ({ bytes, status, code }) => {
      const answer = parse(await exchange(bytes));
      expect(answer.status).toBe(status);
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(answer.body).toEqual({
        error: { message: expect.any(String), type: 'invalid_request_error', param: null, code },
      });
      const requestId = answer.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(accessLines(requestId)).toEqual([
        expect.objectContaining({ route: 'unparsed', status, errorCode: code }),
      ]);
    },
  );
});

describe('a slow body on the admin routes', () => {
  it.each([
    { what: 'within the admin deadline', env: {} as Record<string, string> },
    { what: 'past the admin deadline', env: { ADMIN_REQUEST_TIMEOUT_MS: '500' } },
  ])(
    'is answered 408 request_timeout when it stops arriving $what, not as the database',
    async ({ env }) => {
      const slow = await startTestGateway({ REQUEST_BODY_TIMEOUT_MS: '1000', ...env });
      try {
        const { key } = await slow.createKey({ scopes: ['admin'] });
        const answer = parse(
          await exchange(
            'POST /admin/keys HTTP/1.1\r\nHost: x\r\n' +
              `Authorization: Bearer ${key}\r\ncontent-type: application/json\r\n` +
              'content-length: 100\r\n\r\n{"name":',
            slow.server.port,
          ),
        );
        expect(answer.status).toBe(408);
        expect(answer.body).toMatchObject({ error: { code: 'request_timeout' } });
      } finally {
        await slow.stop();
      }
    },
  );
});

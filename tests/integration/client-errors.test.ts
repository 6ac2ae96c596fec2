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
function exchange(bytes: string): Promise<string> {
  const { port } = gateway.server;
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

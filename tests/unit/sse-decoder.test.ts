import { APIError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { ChatChunkReader } from '../../src/upstream/chat-chunk-reader.js';
import type { SseEvent } from '../../src/upstream/sse-decoder.js';
import { SseDecoder } from '../../src/upstream/sse-decoder.js';

/** Feeds the pieces one by one and collects every event. */
function decode(pieces: (string | Uint8Array)[]): SseEvent[] {
  const decoder = new SseDecoder();
  const out: SseEvent[] = [];
  for (const piece of pieces) {
    out.push(...decoder.push(typeof piece === 'string' ? Buffer.from(piece) : piece));
  }
  decoder.end();
  return out;
}

/** Every way of cutting `text` in two. */
function everySplit(text: string): [Uint8Array, Uint8Array][] {
  const bytes = Buffer.from(text);
  const out: [Uint8Array, Uint8Array][] = [];
  for (let i = 0; i <= bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return out;
}

async function* pieces(parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

async function readAll(reader: ChatChunkReader): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for (;;) {
    const next = await reader.next();
    if (next.done) return out;
    out.push(next.value);
  }
}

const chunk = (content: string) => ({
  id: 'c1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
});

describe('SseDecoder', () => {
  it('reads the same events however the body is cut, multi-byte characters included', () => {
    const body =
      'data: {"a":"héllo 世界 🎉"}\n\n: a comment\nevent: error\ndata: {"b":1}\n\ndata: [DONE]\n\n';
    const whole = decode([body]);
    expect(whole).toEqual([
      { event: null, data: '{"a":"héllo 世界 🎉"}' },
      { event: 'error', data: '{"b":1}' },
      { event: null, data: '[DONE]' },
    ]);
    for (const [a, b] of everySplit(body)) expect(decode([a, b])).toEqual(whole);
  });

  it('ends lines at CRLF, CR or LF, even when a CRLF is split between two pieces', () => {
    const body = 'data: one\r\n\r\ndata: two\r\rdata: three\n\n';
    const expected = [
      { event: null, data: 'one' },
      { event: null, data: 'two' },
      { event: null, data: 'three' },
    ];
    expect(decode([body])).toEqual(expected);
    for (const [a, b] of everySplit(body)) expect(decode([a, b])).toEqual(expected);
  });

  it('joins data lines with a newline, keeps a value without the optional space, drops an event without data', () => {
    expect(
      decode(['\uFEFFdata:first\ndata: second\n\nevent: ping\n\nid: 7\nretry: 10\n\n']),
    ).toEqual([{ event: null, data: 'first\nsecond' }]);
  });

  it('does not dispatch an event the body ends before its blank line', () => {
    expect(decode(['data: {"a":1}\n\ndata: {"cut'])).toEqual([{ event: null, data: '{"a":1}' }]);
  });
});

describe('ChatChunkReader', () => {
  const headers = new Headers({ 'x-request-id': 'req_1' });

  it('hands out the chunks up to [DONE] and reads the body to its end', async () => {
    let readToEnd = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from(
        `data: ${JSON.stringify(chunk('Hel'))}\n\ndata: ${JSON.stringify(chunk('lo'))}\n\n`,
      );
      yield Buffer.from('data: [DONE]\n\n');
      yield Buffer.from(`data: ${JSON.stringify(chunk('after done'))}\n\n`);
      readToEnd = true;
    }
    const chunks = await readAll(new ChatChunkReader(body(), headers));
    expect(chunks.map((c) => c.choices[0]?.delta.content)).toEqual(['Hel', 'lo']);
    expect(readToEnd).toBe(true);
  });

  it('offers the chunks already received without waiting, and none beyond them', async () => {
    const reader = new ChatChunkReader(
      pieces([`data: ${JSON.stringify(chunk('a'))}\n\ndata: ${JSON.stringify(chunk('b'))}\n\n`]),
      headers,
    );
    expect(reader.ready()).toBeNull();
    const first = await reader.next();
    expect(first.done ? null : first.value.choices[0]?.delta.content).toBe('a');
    expect(reader.lastRaw()).toBe(JSON.stringify(chunk('a')));
    expect(reader.ready()?.choices[0]?.delta.content).toBe('b');
    expect(reader.lastRaw()).toBe(JSON.stringify(chunk('b')));
    expect(reader.ready()).toBeNull();
    expect((await reader.next()).done).toBe(true);
  });

  it('fails with the provider error of an error event, after the chunks before it', async () => {
    const reader = new ChatChunkReader(
      pieces([
        `data: ${JSON.stringify(chunk('partial'))}\n\ndata: {"error":{"message":"overloaded","type":"server_error"}}\n\n`,
      ]),
      headers,
    );
    const first = await reader.next();
    expect(first.done ? null : first.value.choices[0]?.delta.content).toBe('partial');
    const failure = await reader.next().then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).status).toBeUndefined();
    expect((failure as APIError).message).toContain('overloaded');
  });

  it('fails clearly on an event that is not a JSON object', async () => {
    for (const data of ['{"cut', 'null', '[1]']) {
      const reader = new ChatChunkReader(pieces([`data: ${data}\n\n`]), headers);
      await expect(reader.next(), data).rejects.toThrow(/upstream sent a stream event/);
    }
  });
});

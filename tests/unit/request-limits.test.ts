import { describe, expect, it } from 'vitest';
import { countPromptTokens, countRequestTokens } from '../../src/compression/token-count.js';
import { parseChatRequest } from '../../src/http/chat-request.js';
import { GatewayError } from '../../src/http/errors.js';
import { parseJsonBody } from '../../src/http/json-body.js';
import { findJsonShapeProblem, MAX_JSON_DEPTH } from '../../src/http/json-shape.js';
import { MAX_TOKEN_COUNT, toTokenCount } from '../../src/ratelimit/admission-plan.js';

function refusal(run: () => unknown): GatewayError {
  try {
    run();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('request bodies of dangerous shape', () => {
  it('refuses nesting past the limit anywhere in the body, before parsing it', () => {
    expect(findJsonShapeProblem(nested(MAX_JSON_DEPTH))).toBeNull();
    const deep = `{"model":"m","messages":[{"role":"user","content":"x"}],"x":${nested(20_000)}}`;
    const err = refusal(() => parseJsonBody(deep));
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_json');
  });

  it('ignores brackets and quotes inside strings', () => {
    const text = JSON.stringify({ a: '[[[[{{{{"\\"', b: ['"]'] });
    expect(findJsonShapeProblem(text, 3)).toBeNull();
  });

  it('refuses a top-level key given twice, naming it', () => {
    const err = refusal(() =>
      parseJsonBody('{"model":"allowed","messages":[],"model":"forbidden"}'),
    );
    expect(err.status).toBe(400);
    expect(err.param).toBe('model');
    expect(err.code).toBe('duplicate_parameter');
  });

  it('lets the same key appear in different nested objects', () => {
    const text = '{"messages":[{"role":"user"},{"role":"assistant"}],"role":"x"}';
    expect(findJsonShapeProblem(text)).toBeNull();
  });
});

describe('request fields with bounds', () => {
  const base = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
  it.each([
    ['n', { n: 129 }, 'integer_above_max_value'],
    ['max_tokens', { max_tokens: 2 ** 31 }, 'integer_above_max_value'],
    ['n', { n: 0 }, 'integer_below_min_value'],
    ['max_tokens', { max_tokens: 0 }, 'integer_below_min_value'],
    ['max_completion_tokens', { max_completion_tokens: -1 }, 'integer_below_min_value'],
    ['n', { n: 1.5 }, 'invalid_type'],
    ['user', { user: 'u'.repeat(257) }, 'string_above_max_length'],
    ['metadata.k', { metadata: { k: 'v'.repeat(513) } }, 'invalid_value'],
  ])('refuses an out-of-bounds %s with 400 naming it', (param, extra, code) => {
    const body = { ...base, ...extra };
    const err = refusal(() => parseChatRequest(JSON.stringify(body), body));
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.code).toBe(code);
  });

  it('says which bound a number below its minimum misses, as OpenAI does', () => {
    const body = { ...base, max_tokens: 0 };
    const err = refusal(() => parseChatRequest(JSON.stringify(body), body));
    expect(err.message).toBe(
      "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
    );
  });

  it('says a number too large for JSON to hold is out of range, not of the wrong type', () => {
    const text =
      '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"temperature":1e400}';
    const err = refusal(() => parseChatRequest(text, parseJsonBody(text)));
    expect(err.param).toBe('temperature');
    expect(err.message).toBe(
      "Invalid type for 'temperature': expected a number, but got a number out of range.",
    );
  });

  it('names a message without a role as a missing parameter', () => {
    const body = { ...base, messages: [{ role: 'user', content: 'hi' }, { content: 'x' }] };
    const err = refusal(() => parseChatRequest(JSON.stringify(body), body));
    expect(err.message).toBe("Missing required parameter: 'messages[1].role'.");
    expect(err.param).toBe('messages[1].role');
    expect(err.code).toBe('missing_required_parameter');
  });
});

describe('token reservations', () => {
  it('turns an overflowing reservation into the cap, never 0', () => {
    expect(toTokenCount(Number.POSITIVE_INFINITY)).toBe(MAX_TOKEN_COUNT);
    expect(toTokenCount(1e300)).toBe(MAX_TOKEN_COUNT);
    expect(toTokenCount(Number.NaN)).toBe(0);
    expect(toTokenCount(12.2)).toBe(13);
  });

  it('counts tool definitions and the response format as prompt', () => {
    const messages = [{ role: 'user', content: 'What is the weather?' }];
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city, with a long description that costs tokens',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const plain = countPromptTokens(messages, 'gpt-4o-mini');
    const withTools = countRequestTokens({ messages, tools }, 'gpt-4o-mini');
    expect(withTools - plain).toBeGreaterThan(20);
  });
});

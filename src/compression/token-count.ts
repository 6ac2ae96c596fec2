import {
  countTokens as countCl100k,
  setMergeCacheSize as setCl100kMergeCacheSize,
} from 'gpt-tokenizer/encoding/cl100k_base';
import {
  countTokens as countO200k,
  setMergeCacheSize as setO200kMergeCacheSize,
} from 'gpt-tokenizer/encoding/o200k_base';
import { isRecord } from '../runtime/is-record.js';
import { remembered } from '../runtime/remembered.js';

/** The byte-pair encodings Tollgate counts with. */
export type TokenEncoding = 'o200k_base' | 'cl100k_base';

/** OpenAI's fixed cost of every chat message (role and separators). */
export const PER_MESSAGE_TOKENS = 3;
/** Extra cost of a message that carries a `name`. */
export const PER_NAME_TOKENS = 1;
/** Tokens OpenAI adds to prime the assistant's reply. */
export const REPLY_PRIMING_TOKENS = 3;
/** Overhead of one assistant tool call besides its name and arguments (an estimate). */
export const PER_TOOL_CALL_TOKENS = 3;
/** An image part with `detail: "low"`: OpenAI's fixed base cost. */
export const IMAGE_LOW_DETAIL_TOKENS = 85;
/**
 * Any other image part. The real cost depends on the image size, which is unknown without
 * fetching it; this is the cost of a 1024×1024 image at high detail (85 + 4 tiles × 170).
 */
export const IMAGE_TOKENS_ESTIMATE = 765;

// User text may contain strings such as "<|endoftext|>"; OpenAI reads them as plain text, so the
// counter must too (the library's default is to throw on them).
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

const CL100K_EXACT = new Set(['gpt-4', 'text-embedding-ada-002']);
const CL100K_PREFIXES = ['gpt-4-', 'gpt-3.5', 'gpt-35-', 'text-embedding-3'];

/**
 * The encoding a model tokenizes with: cl100k_base for the GPT-4 / GPT-3.5 generation and
 * their embedding models, o200k_base for everything else (current models, and the documented
 * default for unknown names). Accepts provider prefixes (`openai/gpt-4o`) and fine-tune names
 * (`ft:gpt-3.5-turbo:org::id`).
 */
export function encodingForModel(model: string): TokenEncoding {
  return encodingByModel(model);
}

/** Each request asks for its model's encoding; a handful of names in practice. */
const encodingByModel = remembered(256, encodingOfName);

function encodingOfName(model: string): TokenEncoding {
  let name = model.trim().toLowerCase();
  const slash = name.lastIndexOf('/');
  if (slash >= 0) name = name.slice(slash + 1);
  if (name.startsWith('ft:')) name = name.slice(3);
  if (CL100K_EXACT.has(name)) return 'cl100k_base';
  for (const prefix of CL100K_PREFIXES) {
    if (name.startsWith(prefix)) return 'cl100k_base';
  }
  return 'o200k_base';
}

/**
 * The longest run of whitespace, or of anything but whitespace, counted as it is. Byte-pair
 * encoding takes time quadratic in the length of one piece of the text (a word, a run of spaces
 * or of punctuation): 40,000 repeated characters took ~0.9 s, and a body of a few MB of them would
 * hold the event loop for minutes. A piece never spans more than one such run, so a longer run is
 * counted in slices of this length: about linear, as for ordinary text (~0.07 µs per character),
 * at the price of a token or so per slice against the exact count. Ordinary prose never has one.
 */
export const MAX_RUN_CHARS = 128;

/**
 * Words an encoding keeps the merged tokens of (words not in its vocabulary, whose merges are
 * worked out byte pair by byte pair), least recently used out first. The library keeps 100,000
 * per encoding, which real traffic fills: counting the prompts of ../shared/data once (4,184
 * prompts, 9.3 M characters) left 12.4 MB of heap in o200k's cache alone, 3.0 MB with this bound,
 * at the same CPU within noise (pieces of up to MAX_RUN_CHARS characters could take several times
 * that). Words that keep coming back, such as those of a system prompt sent with every request,
 * stay; counting all of those prompts a second time took 23% more CPU than with every word kept.
 */
const MERGE_CACHE_ENTRIES = 10_000;
setO200kMergeCacheSize(MERGE_CACHE_ENTRIES);
setCl100kMergeCacheSize(MERGE_CACHE_ENTRIES);

type Counter = typeof countO200k;

/** Counts the tokens of `text` in the given encoding; special-token strings count as text. */
export function countTokensWithEncoding(text: string, encoding: TokenEncoding): number {
  if (text.length === 0) return 0;
  const count = encoding === 'cl100k_base' ? countCl100k : countO200k;
  if (text.length <= MAX_RUN_CHARS || !hasLongRun(text)) return count(text, PLAIN_TEXT);
  return countInSlices(text, count);
}

/** JavaScript's `\s`, which the encodings' piece patterns split on. */
function isSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * Whether `text` has a run of whitespace, or of anything else, longer than MAX_RUN_CHARS. Such a
 * run holds two characters half that length apart: only where two such samples agree is the text
 * between them read, so ordinary text costs a few characters' look per sample, not one per character.
 */
export function hasLongRun(text: string): boolean {
  const step = MAX_RUN_CHARS >> 1;
  for (let at = 0; at + step < text.length; at += step) {
    const space = isSpace(text.charCodeAt(at));
    if (isSpace(text.charCodeAt(at + step)) !== space) continue;
    let end = at + 1;
    while (end < text.length && isSpace(text.charCodeAt(end)) === space) end++;
    if (end <= at + step) continue;
    let start = at;
    while (start > 0 && isSpace(text.charCodeAt(start - 1)) === space) start--;
    if (end - start > MAX_RUN_CHARS) return true;
  }
  return false;
}

/** Counts `text` with every run longer than MAX_RUN_CHARS counted slice by slice. */
function countInSlices(text: string, count: Counter): number {
  let total = 0;
  let from = 0;
  let runStart = 0;
  let space = isSpace(text.charCodeAt(0));
  for (let i = 1; i <= text.length; i++) {
    const s = i < text.length ? isSpace(text.charCodeAt(i)) : !space;
    if (s === space) continue;
    if (i - runStart > MAX_RUN_CHARS) {
      if (runStart > from) total += count(text.slice(from, runStart), PLAIN_TEXT);
      for (let start = runStart; start < i; ) {
        let end = Math.min(start + MAX_RUN_CHARS, i);
        // Never between the two halves of a surrogate pair.
        const last = text.charCodeAt(end - 1);
        if (end < i && last >= 0xd800 && last <= 0xdbff) end++;
        total += count(text.slice(start, end), PLAIN_TEXT);
        start = end;
      }
      from = i;
    }
    runStart = i;
    space = s;
  }
  if (from < text.length) total += count(text.slice(from), PLAIN_TEXT);
  return total;
}

/** Counts the tokens of `text` as `model` would. */
export function countTokens(text: string, model: string): number {
  return countTokensWithEncoding(text, encodingForModel(model));
}

/**
 * Estimates the prompt tokens of a chat request's `messages` the way OpenAI bills them:
 * per message 3 tokens + role + content + name (+1), tool calls and tool-call ids, plus 3 for
 * the reply priming. Text parts are counted exactly; image parts count as
 * {@link IMAGE_LOW_DETAIL_TOKENS} or {@link IMAGE_TOKENS_ESTIMATE}; other parts (audio, files)
 * and malformed entries count 0. Never throws.
 */
export function countPromptTokens(messages: readonly unknown[], model: string): number {
  const encoding = encodingForModel(model);
  let total = REPLY_PRIMING_TOKENS;
  for (const message of messages) {
    if (!isRecord(message)) continue;
    total += PER_MESSAGE_TOKENS;
    total += countField(message.role, encoding);
    total += countContent(message.content, encoding);
    total += countField(message.tool_call_id, encoding);
    if (typeof message.name === 'string') {
      total += PER_NAME_TOKENS + countTokensWithEncoding(message.name, encoding);
    }
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) total += countToolCall(call, encoding);
    }
    if (isRecord(message.function_call)) total += countToolCall(message, encoding);
  }
  return total;
}

/**
 * Estimates a whole chat request's prompt tokens: the messages as above plus the tool and function
 * definitions and the response format, which the provider also bills as prompt (counted as their
 * JSON text, a slight over-estimate).
 */
export function countRequestTokens(body: Readonly<Record<string, unknown>>, model: string): number {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let total = countPromptTokens(messages, model);
  const encoding = encodingForModel(model);
  for (const field of ['tools', 'functions', 'response_format'] as const) {
    const value = body[field];
    if (value !== undefined && value !== null) {
      total += countTokensWithEncoding(JSON.stringify(value), encoding);
    }
  }
  return total;
}

function countContent(content: unknown, encoding: TokenEncoding): number {
  if (typeof content === 'string') return countTokensWithEncoding(content, encoding);
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content) {
    if (!isRecord(part)) continue;
    if (typeof part.text === 'string') total += countTokensWithEncoding(part.text, encoding);
    else if (typeof part.refusal === 'string') {
      total += countTokensWithEncoding(part.refusal, encoding);
    } else if (part.type === 'image_url') total += imageTokens(part.image_url);
  }
  return total;
}

function imageTokens(imageUrl: unknown): number {
  return isRecord(imageUrl) && imageUrl.detail === 'low'
    ? IMAGE_LOW_DETAIL_TOKENS
    : IMAGE_TOKENS_ESTIMATE;
}

/** Counts `{ function: { name, arguments } }` (a tool call) or `{ function_call: … }`. */
function countToolCall(call: unknown, encoding: TokenEncoding): number {
  if (!isRecord(call)) return 0;
  const fn = isRecord(call.function) ? call.function : call.function_call;
  if (!isRecord(fn)) return 0;
  return PER_TOOL_CALL_TOKENS + countField(fn.name, encoding) + countField(fn.arguments, encoding);
}

function countField(value: unknown, encoding: TokenEncoding): number {
  return typeof value === 'string' ? countTokensWithEncoding(value, encoding) : 0;
}

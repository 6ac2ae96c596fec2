import { isRecord } from '../../runtime/is-record.js';
import { GatewayError } from '../errors.js';
import { refuseLongItemId, refuseNulId } from './item-ids.js';
import { describeValue, invalidType, unsupported } from './request-errors.js';

const MESSAGE_ROLES = new Set(['user', 'assistant', 'system', 'developer']);

function missing(param: string): GatewayError {
  return GatewayError.invalidRequest(
    `Missing required parameter: '${param}'.`,
    param,
    'missing_required_parameter',
  );
}

function requireString(item: Record<string, unknown>, field: string, path: string): void {
  const v = item[field];
  if (typeof v === 'string') return;
  throw v === undefined
    ? missing(`${path}.${field}`)
    : invalidType(`${path}.${field}`, 'a string', v);
}

function checkPart(part: unknown, path: string): void {
  if (!isRecord(part)) throw invalidType(path, 'an object', part);
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      requireString(part, 'text', path);
      return;
    case 'refusal':
      requireString(part, 'refusal', path);
      return;
    case 'input_image':
      if (typeof part.image_url === 'string') return;
      if (part.file_id !== undefined && part.file_id !== null) {
        throw unsupported(`${path}.file_id`, 'An image given by file id');
      }
      requireString(part, 'image_url', path);
      return;
    case 'input_file':
      if (typeof part.file_data === 'string' || typeof part.file_id === 'string') return;
      if (part.file_url !== undefined) throw unsupported(`${path}.file_url`, 'A file given by URL');
      requireString(part, 'file_data', path);
      return;
    default:
      throw unsupported(`${path}.type`, `The content part type '${String(part.type)}'`);
  }
}

function checkMessage(item: Record<string, unknown>, path: string): void {
  if (typeof item.role !== 'string' || !MESSAGE_ROLES.has(item.role)) {
    throw GatewayError.invalidRequest(
      `Invalid value for '${path}.role': expected one of 'user', 'assistant', 'system' or 'developer'.`,
      `${path}.role`,
      item.role === undefined ? 'missing_required_parameter' : 'invalid_value',
    );
  }
  const content = item.content;
  if (typeof content === 'string') return;
  if (!Array.isArray(content)) {
    throw invalidType(`${path}.content`, 'a string or an array', content);
  }
  content.forEach((part: unknown, j) => {
    checkPart(part, `${path}.content[${j}]`);
    // A chat system, developer or assistant message carries text only (and an assistant's
    // refusal): an image or a file there would reach the upstream as nothing.
    const type = isRecord(part) ? part.type : undefined;
    if (item.role !== 'user' && (type === 'input_image' || type === 'input_file')) {
      throw unsupported(
        `${path}.content[${j}].type`,
        `The content part type '${type}' in a ${item.role} message`,
      );
    }
  });
}

function checkFunctionCallOutput(item: Record<string, unknown>, path: string): void {
  requireString(item, 'call_id', path);
  const output = item.output;
  if (typeof output === 'string') return;
  if (!Array.isArray(output)) throw invalidType(`${path}.output`, 'a string or an array', output);
  output.forEach((part: unknown, j) => {
    // A chat-completions tool message carries text only.
    if (!isRecord(part) || part.type !== 'input_text' || typeof part.text !== 'string') {
      throw unsupported(`${path}.output[${j}]`, 'A function call output other than text');
    }
  });
}

/** A reasoning item's `summary` or `content`: a list of text parts of the one type each holds. */
function checkReasoningParts(parts: unknown, param: string, type: string): void {
  if (!Array.isArray(parts)) throw invalidType(param, 'an array', parts);
  parts.forEach((part: unknown, j) => {
    const path = `${param}[${j}]`;
    if (!isRecord(part)) throw invalidType(path, 'an object', part);
    if (part.type === undefined) throw missing(`${path}.type`);
    if (part.type !== type) {
      const got = typeof part.type === 'string' ? `'${part.type}'` : describeValue(part.type);
      throw GatewayError.invalidRequest(
        `Invalid value for '${path}.type': ${got}. Supported values are: '${type}'.`,
        `${path}.type`,
        'invalid_value',
      );
    }
    requireString(part, 'text', path);
  });
}

/**
 * A reasoning item (one of an earlier response's output, sent back by a client that keeps the
 * history itself): its `summary` as OpenAI requires it, and its optional `content` and
 * `encrypted_content`, which are stored with it.
 */
function checkReasoning(item: Record<string, unknown>, path: string): void {
  if (item.summary === undefined) throw missing(`${path}.summary`);
  checkReasoningParts(item.summary, `${path}.summary`, 'summary_text');
  if (item.content !== undefined && item.content !== null) {
    checkReasoningParts(item.content, `${path}.content`, 'reasoning_text');
  }
  const encrypted = item.encrypted_content;
  if (encrypted !== undefined && encrypted !== null && typeof encrypted !== 'string') {
    throw invalidType(`${path}.encrypted_content`, 'a string', encrypted);
  }
}

function checkItem(item: unknown, path: string): void {
  if (!isRecord(item)) throw invalidType(path, 'an object', item);
  // An item's own id is the one it is stored under; a reference's names a stored item.
  if (typeof item.id === 'string') {
    refuseNulId(item.id, `${path}.id`);
    refuseLongItemId(item.id, `${path}.id`);
  }
  const type = item.type ?? 'message';
  switch (type) {
    case 'message':
      checkMessage(item, path);
      return;
    case 'function_call':
      requireString(item, 'call_id', path);
      requireString(item, 'name', path);
      requireString(item, 'arguments', path);
      return;
    case 'function_call_output':
      checkFunctionCallOutput(item, path);
      return;
    case 'item_reference':
      requireString(item, 'id', path);
      return;
    case 'reasoning':
      checkReasoning(item, path);
      return;
    default:
      throw unsupported(`${path}.type`, `The input item type '${String(type)}'`);
  }
}

/** Checks `input` (a string or a list of items) for what the translation to chat messages reads. */
export function checkInput(input: unknown): void {
  if (typeof input === 'string') return;
  if (!Array.isArray(input)) throw invalidType('input', 'a string or an array', input);
  checkItems(input, 'input');
}

/** Checks a list of input items (a request's `input`, or the `items` added to a conversation). */
export function checkItems(items: readonly unknown[], param: string): void {
  items.forEach((item: unknown, i) => {
    checkItem(item, `${param}[${i}]`);
  });
}

import type { JSONSchema } from 'openai/lib/jsonschema';
import { toStrictJsonSchema } from 'openai/lib/transform';
import { isRecord } from '../../runtime/is-record.js';

/** How a Responses function tool goes upstream: strict or not, and the parameters to send. */
export interface ToolStrictness {
  strict: boolean;
  /** The schema as strict mode takes it (objects closed), when `strict` was inferred. */
  parameters: Record<string, unknown> | undefined;
}

const decided = new WeakMap<Record<string, unknown>, ToolStrictness>();

/**
 * Whether a Responses function tool runs with strict parameter validation. Set, it is what the
 * request says. Left out, OpenAI's Responses API normalises the tool's schema into strict mode
 * when it can and falls back to non-strict otherwise, where chat completions (which the gateway
 * sends the turn as) are non-strict unless told. The normalisation is the openai SDK's own
 * (`toStrictJsonSchema`, which its structured-output helpers use): objects without
 * `additionalProperties` are closed, and a schema it cannot make strict (an open object, an
 * optional property that is not nullable, a keyword strict mode lacks) stays non-strict, so the
 * fallback is the one OpenAI documents, never a refused request. Decided once per tool object.
 */
export function toolStrictness(tool: Record<string, unknown>): ToolStrictness {
  const known = decided.get(tool);
  if (known) return known;
  const parameters = isRecord(tool.parameters) ? tool.parameters : undefined;
  let result: ToolStrictness;
  if (typeof tool.strict === 'boolean') {
    result = { strict: tool.strict, parameters };
  } else {
    const strict = parameters === undefined ? null : strictSchema(parameters);
    result = strict === null ? { strict: false, parameters } : { strict: true, parameters: strict };
  }
  decided.set(tool, result);
  return result;
}

function strictSchema(schema: Record<string, unknown>): Record<string, unknown> | null {
  try {
    const strict: unknown = toStrictJsonSchema(schema as JSONSchema);
    return isRecord(strict) ? strict : null;
  } catch {
    return null;
  }
}

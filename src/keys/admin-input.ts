import type { z } from 'zod';
import { AdminRefusal } from './admin-refusal.js';

/**
 * How messages name a field, so one schema speaks to both of its audiences: the admin API's JSON
 * (`'rpm'`, `null`) and the command line (`--rpm`, `none`).
 */
export interface Spelling {
  /** The field as a message quotes it: `'max_concurrency'` or `--concurrency`. */
  field(name: string): string;
  /** The field in a plain list: `max_concurrency` or `--concurrency`. */
  bare(name: string): string;
  /** The value that clears the field: `null` in JSON; `none`, `all`, `never`… on the command line. */
  unset(name: string): string;
  /** The two values of a switch, in words: `true or false` in JSON, `on or off` on the command line. */
  readonly onOff: string;
}

/** The admin API's spelling: JSON field names and `null`. */
export const JSON_SPELLING: Spelling = {
  field: (name) => `'${name}'`,
  bare: (name) => name,
  unset: () => 'null',
  onOff: 'true or false',
};

/** `a, b or c`. */
export function listInWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function paramOf(path: readonly PropertyKey[]): string | null {
  let param = '';
  for (const part of path) {
    if (typeof part === 'number') param += `[${part}]`;
    else param += param === '' ? String(part) : `.${String(part)}`;
  }
  return param === '' ? null : param;
}

/**
 * Validates an administrator's input (a JSON object, or command-line flags mapped onto the same
 * fields) against a strict schema. The first problem is thrown as an AdminRefusal naming the field:
 * unknown fields are refused, not ignored, so a typo is never silent.
 */
export function parseAdminInput<T>(
  schema: z.ZodType<T>,
  input: Record<string, unknown>,
  spelling: Spelling,
): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new AdminRefusal({ reason: 'invalid', message: 'The request is invalid.' });
  if (issue.code === 'unrecognized_keys') {
    throw new AdminRefusal({
      reason: 'unrecognized',
      message: `Unrecognized request argument supplied: ${issue.keys.join(', ')}.`,
      field: issue.keys[0] ?? null,
    });
  }
  const top = issue.path[0];
  if (issue.path.length === 1 && typeof top === 'string' && !(top in input)) {
    throw new AdminRefusal({
      reason: 'missing',
      message: `Missing required parameter: ${spelling.field(top)}.`,
      field: top,
    });
  }
  throw new AdminRefusal({ reason: 'invalid', message: issue.message, field: paramOf(issue.path) });
}

/**
 * Serialises a JSON-like value with object keys sorted, so that two requests that differ only in
 * key order or in fields set to `undefined` produce the same string (and therefore the same hash).
 * Follows `JSON.stringify` for everything else: `undefined` inside arrays and non-finite numbers
 * become `null`. Throws a `TypeError` on values JSON cannot represent (bigint, functions, symbols).
 */
export function canonicalJson(value: unknown): string {
  const out = writeValue(value);
  if (out === undefined) {
    throw new TypeError('canonicalJson: the top-level value is not representable as JSON');
  }
  return out;
}

function writeValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'undefined':
      return undefined;
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return writeArray(value);
      return writeObject(value as Record<string, unknown>);
    default:
      throw new TypeError(`canonicalJson: cannot serialise a value of type ${typeof value}`);
  }
}

function writeArray(items: readonly unknown[]): string {
  const parts: string[] = [];
  for (const item of items) parts.push(writeValue(item) ?? 'null');
  return `[${parts.join(',')}]`;
}

function writeObject(record: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const written = writeValue(record[key]);
    if (written !== undefined) parts.push(`${JSON.stringify(key)}:${written}`);
  }
  return `{${parts.join(',')}}`;
}

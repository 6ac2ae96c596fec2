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
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ',';
    out += writeValue(items[i]) ?? 'null';
  }
  return `${out}]`;
}

function writeObject(record: Record<string, unknown>): string {
  const keys = sortInPlace(Object.keys(record));
  let out = '{';
  for (const key of keys) {
    const written = writeValue(record[key]);
    if (written === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(key)}:${written}`;
  }
  return `${out}}`;
}

/**
 * Sorts keys as `Array.prototype.sort` does (by UTF-16 code units), by insertion: objects in a
 * request have a handful of keys, and this allocates nothing, where the built-in sort allocates
 * a work copy on every call.
 */
function sortInPlace(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i];
    let j = i - 1;
    while (j >= 0 && keys[j] > key) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

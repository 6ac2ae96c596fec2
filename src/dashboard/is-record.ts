/** True for any non-null object: the page's one check before reading fields of a parsed body. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * The SQLSTATE of a failed statement (e.g. `23505`), from either driver's error or Drizzle's
 * wrapper around it (its `cause`); null for failures that are not PostgreSQL's (a dropped
 * connection, a timeout).
 */
export function sqlStateOf(err: unknown): string | null {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return null;
}

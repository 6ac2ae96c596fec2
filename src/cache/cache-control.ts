/** What a request's `Cache-Control` header asks of the response cache. */
export interface CacheDirectives {
  /** `no-cache`: do not answer from the cache (the fresh answer may still be stored). */
  noCache: boolean;
  /** `no-store`: do not store this answer. */
  noStore: boolean;
  /** `max-age=N`: accept only an entry at most this many milliseconds old; null = any age. */
  maxAgeMs: number | null;
}

const MAX_AGE = /^max-age\s*=\s*"?(\d+)"?$/;

/**
 * Parses a request's `Cache-Control` header. Unknown directives are ignored, as HTTP caches do;
 * a malformed `max-age` is ignored too rather than failing the request.
 */
export function parseCacheControl(header: string | undefined): CacheDirectives {
  const directives: CacheDirectives = { noCache: false, noStore: false, maxAgeMs: null };
  if (!header) return directives;
  for (const raw of header.split(',')) {
    const part = raw.trim().toLowerCase();
    if (part === 'no-cache') directives.noCache = true;
    else if (part === 'no-store') directives.noStore = true;
    else {
      const m = MAX_AGE.exec(part);
      if (m?.[1] !== undefined) {
        const ms = Number(m[1]) * 1_000;
        directives.maxAgeMs = directives.maxAgeMs === null ? ms : Math.min(directives.maxAgeMs, ms);
      }
    }
  }
  return directives;
}

import autocannon from 'autocannon';

/** One load run: the same request from `connections` keep-alive connections, for a time or a count. */
export interface LoadSpec {
  url: string;
  body: string;
  /** When set, called for each request's body instead (a new question every time). */
  bodyFor?: (() => string) | undefined;
  headers: Record<string, string>;
  connections: number;
  /** Seconds to run, or else `amount` requests in all. */
  until: { durationS: number } | { amount: number };
}

/** What a load run measured. Latencies cover whole responses (a stream's last byte). */
export interface LoadResult {
  requests: number;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors, timeouts and non-2xx answers together; any makes the row suspect. */
  failures: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

/** An autocannon request hook that gives every request its own body. */
function varied(bodyFor: () => string) {
  return (request: autocannon.Request): autocannon.Request => ({ ...request, body: bodyFor() });
}

/**
 * Runs autocannon in this process. Percentiles come from every response time autocannon reports
 * (sub-millisecond), not from its histogram, which rounds to whole milliseconds.
 */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        method: 'POST',
        body: spec.body,
        headers: { 'content-type': 'application/json', ...spec.headers },
        connections: spec.connections,
        pipelining: 1,
        ...(spec.bodyFor ? { requests: [{ setupRequest: varied(spec.bodyFor) }] } : {}),
        ...('amount' in spec.until
          ? { amount: spec.until.amount }
          : { duration: spec.until.durationS }),
        timeout: 10,
      },
      (err: unknown, done: autocannon.Result) => (err ? reject(err) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) times.push(responseTime);
    });
  });
  const sorted = Float64Array.from(times).sort();
  return {
    requests: result.requests.total,
    requestsPerS: result.requests.total / result.duration,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    failures: result.errors + result.non2xx,
  };
}

import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Load at a steady rate, as a server meets it when it is not saturated: each request leaves at
 * its scheduled time over keep-alive connections, and its first and last body bytes are timed.
 */

/** Where requests go. */
export interface SteadyTarget {
  name: string;
  url: URL;
  headers: Record<string, string>;
}

/** One request's timings in milliseconds from the moment it was sent. */
export interface Sample {
  firstByteMs: number;
  lastByteMs: number;
}

/** The samples of one target and group, and what went wrong. */
export interface Samples {
  samples: Sample[];
  failures: number;
  /** Why requests failed: each distinct reason once, the first few. */
  reasons: string[];
  /** The latest a request left after its scheduled time (the client's own lag), ms. */
  maxLateMs: number;
}

/**
 * Idle sockets are closed here after 4 s, before a server's own keep-alive timeout (Node's 5 s)
 * closes them: otherwise a request sent on a socket at the moment the server closes it fails with
 * ECONNRESET, a race of the client's pool, not an answer of the server (the openai SDK's pool
 * keeps idle sockets 4 s for the same reason).
 */
const agent = new Agent({ keepAlive: true, maxSockets: 64, timeout: 4_000 });

/** Sends one request and times its first and last body bytes; rejects on a non-200 answer. */
function timedRequest(target: SteadyTarget, body: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const sentAt = performance.now();
    let firstByteAt = 0;
    const req = request(
      target.url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...target.headers,
        },
      },
      (res) => {
        res.on('data', () => {
          if (firstByteAt === 0) firstByteAt = performance.now();
        });
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`${target.name}: status ${res.statusCode}`));
            return;
          }
          const end = performance.now();
          resolve({ firstByteMs: (firstByteAt || end) - sentAt, lastByteMs: end - sentAt });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${target.name}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends `count` requests at `rate` per second, each at its scheduled time (open loop: whether or
 * not the ones before have been answered), and collects their timings.
 */
export async function steadyBlock(
  target: SteadyTarget,
  bodyFor: () => string,
  pace: { rate: number; count: number },
  into: Samples,
): Promise<void> {
  const interval = 1000 / pace.rate;
  const count = pace.count;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    into.maxLateMs = Math.max(into.maxLateMs, performance.now() - due);
    inFlight.push(
      timedRequest(target, bodyFor()).then(
        (sample) => {
          into.samples.push(sample);
        },
        (err: unknown) => {
          into.failures += 1;
          const reason = err instanceof Error ? err.message : String(err);
          if (into.reasons.length < 5 && !into.reasons.includes(reason)) into.reasons.push(reason);
        },
      ),
    );
  }
  await Promise.all(inFlight);
}

/** Samples with nothing in them yet. */
export function emptySamples(): Samples {
  return { samples: [], failures: 0, reasons: [], maxLateMs: 0 };
}

/** Closes the connections steady loads kept open (at the end of a bench). */
export function closeSteadyConnections(): void {
  agent.destroy();
}

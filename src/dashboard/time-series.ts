import type { Metrics } from './types.js';

/** A summary row keyed by its group (a bucket's start time for time groupings). */
export type Row = Metrics & { group: string | null };

/** The time groupings the summary API offers. */
export type Step = 'hour' | 'day';

/** A step's length in seconds. */
export const STEP_SECONDS: Record<Step, number> = { hour: 3_600, day: 86_400 };

/** The grouping a span reads best in: hours up to three days (at most 72 points), then days. */
export function stepFor(spanSeconds: number): Step {
  return spanSeconds <= 3 * STEP_SECONDS.day ? 'hour' : 'day';
}

/** Buckets of one step over a window: every bucket present, empty ones as null. */
export interface Buckets {
  step: Step;
  /** Window start and end (exclusive), in Unix seconds, on bucket boundaries. */
  start: number;
  end: number;
  /** Each bucket's start, in Unix seconds. */
  starts: number[];
  rows: (Row | null)[];
}

/** No more buckets than this are drawn one by one (an hourly view of years would freeze the tab). */
const MAX_BUCKETS = 5_000;

function toSeconds(iso: string | null): number | undefined {
  if (iso === null) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/**
 * Lays a time summary's rows on a regular grid over the filter's window (or, when a side is open,
 * the data's extent), so one day of data reads as 24 hours and an empty hour as a gap, not a jump.
 */
export function toBuckets(
  rows: Row[],
  step: Step,
  from: string | null,
  to: string | null,
): Buckets {
  const size = STEP_SECONDS[step];
  const byStart = new Map<number, Row>();
  for (const row of rows) {
    const at = toSeconds(row.group);
    if (at !== undefined) byStart.set(Math.floor(at / size) * size, row);
  }
  const known = [...byStart.keys()].sort((a, b) => a - b);
  const fromS = toSeconds(from);
  const toS = toSeconds(to);
  const start = fromS !== undefined ? Math.floor(fromS / size) * size : (known[0] ?? 0);
  const last = known.at(-1);
  const end =
    toS !== undefined ? Math.ceil(toS / size) * size : last !== undefined ? last + size : start;
  if ((end - start) / size > MAX_BUCKETS) {
    return { step, start, end, starts: known, rows: known.map((t) => byStart.get(t) ?? null) };
  }
  const starts: number[] = [];
  for (let t = start; t < end; t += size) starts.push(t);
  return { step, start, end, starts, rows: starts.map((t) => byStart.get(t) ?? null) };
}

/** A bucket's start as the page shows times: UTC, to the minute. */
export function utcLabel(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A time axis tick in UTC: clock time within a short window (with the date under the first tick
 * and under each midnight), the date alone over longer ones.
 */
export function tickLabel(seconds: number, spanSeconds: number, first: boolean): string {
  const d = new Date(seconds * 1000);
  const date = `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
  if (spanSeconds > 3 * STEP_SECONDS.day) return date;
  const time = d.toISOString().slice(11, 16);
  return first || time === '00:00' ? `${time}\n${date}` : time;
}

/** One row's result over all rounds, as printed. */
export interface RowSummary {
  name: string;
  /** Rows are compared within a group (same request body): `json`, `stream`. */
  group: string;
  /** The service that received the load: `upstream` and `proxy` rows are the baselines. */
  service: string;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU of the process receiving the load, per request; null when not measured. */
  cpuMicrosPerRequest: number | null;
  /** (best − worst) / best req/s over the rounds. */
  spread: number;
  failures: number;
}

const COLUMNS = [
  ['row', 30],
  ['req/s', 8],
  ['p50 ms', 7],
  ['p99 ms', 7],
  ['×direct', 8],
  ['×proxy', 7],
  ['CPU µs/req', 11],
  ['spread', 7],
  ['failed', 7],
] as const;

function cell(text: string, index: number): string {
  const width = COLUMNS[index]?.[1] ?? 8;
  return index === 0 ? text.padEnd(width) : text.padStart(width);
}

function ratio(value: number, base: number | undefined): string {
  return base === undefined || base === 0 ? '–' : (value / base).toFixed(2);
}

/** Renders the rows as a fixed-width table, each group headed and compared with its baselines. */
export function formatTable(rows: readonly RowSummary[]): string {
  const lines = [COLUMNS.map(([title], i) => cell(title, i)).join(' ')];
  lines.push('-'.repeat(lines[0]?.length ?? 0));
  const groups = [...new Set(rows.map((r) => r.group))];
  for (const group of groups) {
    const inGroup = rows.filter((r) => r.group === group);
    const direct = inGroup.find((r) => r.service === 'upstream')?.requestsPerS;
    const proxy = inGroup.find((r) => r.service === 'proxy')?.requestsPerS;
    for (const r of inGroup) {
      const values = [
        r.name,
        r.requestsPerS.toFixed(0),
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        ratio(r.requestsPerS, direct),
        ratio(r.requestsPerS, proxy),
        r.cpuMicrosPerRequest === null ? '–' : r.cpuMicrosPerRequest.toFixed(0),
        `${(r.spread * 100).toFixed(0)}%`,
        String(r.failures),
      ];
      lines.push(values.map(cell).join(' '));
    }
  }
  return lines.join('\n');
}

/** Per group, the two rows matched by `pick`, for the comparison lines below. */
function pairsByGroup(
  rows: readonly RowSummary[],
  pick: (row: RowSummary, side: 'a' | 'b') => boolean,
): { group: string; a: RowSummary; b: RowSummary }[] {
  const pairs: { group: string; a: RowSummary; b: RowSummary }[] = [];
  for (const group of new Set(rows.map((r) => r.group))) {
    const a = rows.find((r) => r.group === group && pick(r, 'a'));
    const b = rows.find((r) => r.group === group && pick(r, 'b'));
    if (a && b) pairs.push({ group, a, b });
  }
  return pairs;
}

function cpuOf(a: RowSummary, b: RowSummary, show: (a: number, b: number) => string): string {
  return a.cpuMicrosPerRequest !== null && b.cpuMicrosPerRequest !== null
    ? show(a.cpuMicrosPerRequest, b.cpuMicrosPerRequest)
    : '';
}

/** One line per group comparing two services: throughput ratio and CPU-per-request ratio. */
export function formatComparison(
  rows: readonly RowSummary[],
  better: string,
  worse: string,
  label: string,
): string[] {
  return pairsByGroup(rows, (r, side) => r.service === (side === 'a' ? better : worse)).map(
    ({ group, a, b }) =>
      `${group}: ${label} ${(a.requestsPerS / b.requestsPerS).toFixed(2)}× the req/s${cpuOf(a, b, (x, y) => `, ${(y / x).toFixed(2)}× less CPU per request`)}`,
  );
}

/**
 * One line per group pricing a feature: req/s with it on as a ratio of req/s with it off, and
 * the CPU it adds per request.
 */
export function formatFeatureCost(
  rows: readonly RowSummary[],
  on: string,
  off: string,
  feature: string,
): string[] {
  return pairsByGroup(rows, (r, side) => r.service === (side === 'a' ? on : off)).map(
    ({ group, a, b }) =>
      `${group}: ${feature}: ${(a.requestsPerS / b.requestsPerS).toFixed(2)}× the req/s${cpuOf(a, b, (x, y) => `, ${x - y >= 0 ? '+' : ''}${(x - y).toFixed(0)} µs CPU/req`)}`,
  );
}

/** One line per group comparing two rows of the same service, by the end of their names. */
export function formatRowRatio(
  rows: readonly RowSummary[],
  better: string,
  worse: string,
  label: string,
): string[] {
  return pairsByGroup(rows, (r, side) => r.name.endsWith(side === 'a' ? better : worse)).map(
    ({ group, a, b }) =>
      `${group}: ${label}: ${(a.requestsPerS / b.requestsPerS).toFixed(2)}× the req/s`,
  );
}

import { byId } from './dom.js';
import type { Buckets, Row } from './time-series.js';
import { STEP_SECONDS, tickLabel, utcLabel } from './time-series.js';

interface Line {
  label: string;
  color: string;
  /** Counts are 0 in an empty bucket; measurements (latency, rates) are missing there. */
  kind: 'count' | 'measure';
  values: (row: Row) => number | null;
}

const drawn: uPlot[] = [];

function utc(seconds: number): Date {
  return uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC');
}

function seriesOf(line: Line, bars: boolean): uPlot.Series {
  const series: uPlot.Series = { label: line.label, stroke: line.color, width: 2 };
  const barPaths = bars ? uPlot.paths.bars?.({ size: [0.7, 48] }) : undefined;
  if (barPaths)
    return { ...series, paths: barPaths, fill: `${line.color}bb`, points: { show: false } };
  return { ...series, spanGaps: false, points: { show: true, size: 5 } };
}

/** y-axis labels with three significant digits, so small amounts (cents) stay distinct. */
const precise = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });

function chart(id: string, b: Buckets, lines: Line[], bars = false, small = false): void {
  const target = byId(id, HTMLDivElement);
  target.replaceChildren();
  // The axis is drawn on a canvas; its range is also written here for people's tools and tests.
  target.dataset.xFrom = new Date(b.start * 1000).toISOString();
  target.dataset.xTo = new Date(b.end * 1000).toISOString();
  const half = STEP_SECONDS[b.step] / 2;
  const xs = b.starts.map((t) => t + half);
  const opts: uPlot.Options = {
    width: Math.max(300, target.clientWidth || 400),
    height: 220,
    tzDate: utc,
    scales: { x: { time: true, range: [b.start, Math.max(b.end, b.start + 2 * half)] } },
    series: [
      { value: (_u, v) => (v == null ? '–' : `${utcLabel(v - half)} (per ${b.step})`) },
      ...lines.map((l) => seriesOf(l, bars)),
    ],
    axes: [
      {
        values: (_u, splits) => splits.map((t, i) => tickLabel(t, b.end - b.start, i === 0)),
      },
      small
        ? { size: 60, values: (_u, splits) => splits.map((v) => precise.format(v)) }
        : { size: 60 },
    ],
  };
  const values = (l: Line) => b.rows.map((r) => (r ? l.values(r) : l.kind === 'count' ? 0 : null));
  const data: uPlot.AlignedData = [xs, ...lines.map(values)];
  drawn.push(new uPlot(opts, data, target));
}

/** Draws the five time charts over regular buckets, replacing any drawn before. */
export function drawCharts(b: Buckets): void {
  for (const c of drawn.splice(0)) c.destroy();
  const count = 'count' as const;
  const measure = 'measure' as const;
  chart(
    'chart-requests',
    b,
    [
      { label: 'requests', color: '#2f6fed', kind: count, values: (r) => r.requests },
      { label: 'errors', color: '#c4320a', kind: count, values: (r) => r.errors },
    ],
    true,
  );
  chart('chart-tokens', b, [
    { label: 'prompt', color: '#2f6fed', kind: count, values: (r) => r.prompt_tokens },
    { label: 'completion', color: '#7a5af8', kind: count, values: (r) => r.completion_tokens },
    {
      label: 'saved',
      color: '#12b76a',
      kind: count,
      values: (r) => r.tokens_saved_cache + r.tokens_saved_compression,
    },
  ]);
  chart(
    'chart-cost',
    b,
    [
      { label: 'cost', color: '#f79009', kind: count, values: (r) => r.estimated_cost_usd },
      { label: 'savings', color: '#12b76a', kind: count, values: (r) => r.estimated_savings_usd },
    ],
    false,
    true,
  );
  chart('chart-latency', b, [
    { label: 'p50', color: '#2f6fed', kind: measure, values: (r) => r.latency_p50_ms },
    { label: 'p95', color: '#c4320a', kind: measure, values: (r) => r.latency_p95_ms },
    { label: 'ttft p50', color: '#7a5af8', kind: measure, values: (r) => r.ttft_p50_ms },
  ]);
  chart('chart-rates', b, [
    {
      label: 'cache hit %',
      color: '#12b76a',
      kind: measure,
      values: (r) => r.cache_hit_rate * 100,
    },
    { label: 'error %', color: '#c4320a', kind: measure, values: (r) => r.error_rate * 100 },
  ]);
}

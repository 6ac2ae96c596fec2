import { byId } from './dom.js';
import type { Metrics, Summary } from './types.js';

type Row = Metrics & { group: string | null };

interface Line {
  label: string;
  color: string;
  values: (row: Row) => number | null;
}

const drawn: uPlot[] = [];

function chart(id: string, rows: Row[], lines: Line[]): void {
  const target = byId(id, HTMLDivElement);
  target.replaceChildren();
  const xs = rows.map((r) => Date.parse(r.group ?? '') / 1000);
  const opts: uPlot.Options = {
    width: Math.max(300, target.clientWidth || 400),
    height: 220,
    scales: { x: { time: true } },
    series: [
      {},
      ...lines.map((l) => ({
        label: l.label,
        stroke: l.color,
        width: 2,
        points: { show: xs.length < 3 },
      })),
    ],
    axes: [{}, { size: 60 }],
  };
  const data: uPlot.AlignedData = [xs, ...lines.map((l) => rows.map(l.values))];
  drawn.push(new uPlot(opts, data, target));
}

/** Draws the five time charts of a summary grouped by hour or day, replacing any drawn before. */
export function drawCharts(summary: Summary): void {
  for (const c of drawn.splice(0)) c.destroy();
  const rows = summary.data;
  chart('chart-requests', rows, [
    { label: 'requests', color: '#2f6fed', values: (r) => r.requests },
    { label: 'errors', color: '#c4320a', values: (r) => r.errors },
  ]);
  chart('chart-tokens', rows, [
    { label: 'prompt', color: '#2f6fed', values: (r) => r.prompt_tokens },
    { label: 'completion', color: '#7a5af8', values: (r) => r.completion_tokens },
    {
      label: 'saved',
      color: '#12b76a',
      values: (r) => r.tokens_saved_cache + r.tokens_saved_compression,
    },
  ]);
  chart('chart-cost', rows, [
    { label: 'cost', color: '#f79009', values: (r) => r.estimated_cost_usd },
    { label: 'savings', color: '#12b76a', values: (r) => r.estimated_savings_usd },
  ]);
  chart('chart-latency', rows, [
    { label: 'p50', color: '#2f6fed', values: (r) => r.latency_p50_ms },
    { label: 'p95', color: '#c4320a', values: (r) => r.latency_p95_ms },
    { label: 'ttft p50', color: '#7a5af8', values: (r) => r.ttft_p50_ms },
  ]);
  chart('chart-rates', rows, [
    { label: 'cache hit %', color: '#12b76a', values: (r) => r.cache_hit_rate * 100 },
    { label: 'error %', color: '#c4320a', values: (r) => r.error_rate * 100 },
  ]);
}

import { getJson } from './api.js';
import type { Step } from './time-series.js';
import { STEP_SECONDS, stepFor } from './time-series.js';
import type { Summary } from './types.js';

/** GET /analytics/summary for these filters and grouping. */
export function summary(q: URLSearchParams, groupBy: string): Promise<Summary> {
  const withGroup = new URLSearchParams(q);
  withGroup.set('group_by', groupBy);
  return getJson<Summary>(`/analytics/summary?${withGroup}`);
}

function spanOfDays(byDay: Summary): number {
  const days = byDay.data.map((r) => Date.parse(r.group ?? '')).filter((t) => !Number.isNaN(t));
  if (days.length === 0) return 0;
  return (Math.max(...days) - Math.min(...days)) / 1000 + STEP_SECONDS.day;
}

/**
 * The time summary in the step that fits: the chosen one, else hours for a window (or, with no
 * closed window, data) of up to three days and days beyond.
 */
export async function timeSummary(
  q: URLSearchParams,
  chosen: Step | 'auto',
): Promise<{ summary: Summary; step: Step }> {
  if (chosen !== 'auto') return { summary: await summary(q, chosen), step: chosen };
  const from = q.get('from');
  const to = q.get('to');
  if (from !== null && to !== null) {
    const step = stepFor((Date.parse(to) - Date.parse(from)) / 1000);
    return { summary: await summary(q, step), step };
  }
  const byDay = await summary(q, 'day');
  if (stepFor(spanOfDays(byDay)) === 'day') return { summary: byDay, step: 'day' };
  return { summary: await summary(q, 'hour'), step: 'hour' };
}

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/runtime/logger.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { LEARNED_MODELS_MAX } from '../../src/runtime/model-labels.js';
import { basicFinishedRequest, reportRequest } from '../../src/runtime/request-report.js';
import { parseSamples } from '../helpers/prometheus-text.js';

const discard = new Writable({ write: (_chunk, _enc, cb) => cb() });

describe('the model label of the metrics', () => {
  it('names configured models from the start and at most LEARNED_MODELS_MAX answered ones', async () => {
    const observer = { logger: createLogger('info', discard), metrics: createMetrics(['team-a']) };
    const report = (model: string, status: number) => {
      const f = basicFinishedRequest({
        requestId: `req-${model}-${status}`,
        method: 'POST',
        route: '/v1/chat/completions',
        status,
        durationMs: 12,
      });
      f.model = model;
      if (status !== 200) f.errorCode = 'model_not_found';
      reportRequest(observer, f);
    };
    report('refused-first', 404);
    report('team-a', 500);
    const answered = Array.from({ length: LEARNED_MODELS_MAX + 20 }, (_, i) => `model-${i}`);
    for (const model of answered) report(model, 200);
    // Answered now, but only after every learned place was taken.
    report('refused-first', 200);

    const text = await observer.metrics.registry.metrics();
    const counts = new Map<string, number>();
    for (const s of parseSamples(text)) {
      if (s.name !== 'tollgate_http_request_duration_seconds_count') continue;
      counts.set(s.labels.model ?? '', (counts.get(s.labels.model ?? '') ?? 0) + s.value);
    }
    const own = answered.slice(0, LEARNED_MODELS_MAX);
    expect([...counts.keys()].sort()).toEqual(['other', 'team-a', ...own].sort());
    expect(counts.get('team-a')).toBe(1);
    // The refused name twice, and every answered name past the limit.
    expect(counts.get('other')).toBe(2 + 20);
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Deps } from '../../src/deps.js';
import { openDeps } from '../../src/deps.js';
import { jobsFor, SLOW_JOB_MS, startJobs } from '../../src/jobs.js';
import { createLogger } from '../../src/runtime/logger.js';
import { uuidv7 } from '../../src/runtime/uuidv7.js';
import type { NewInteraction } from '../../src/storage/schema.js';
import { interactions } from '../../src/storage/schema.js';
import { openTestDeps } from '../helpers/test-deps.js';

const FLUSH_INTERVAL_MS = 200;

function row(): NewInteraction {
  return {
    id: uuidv7(),
    createdAt: new Date(),
    tenantId: 'ten_jobs',
    keyId: 'key_jobs',
    status: 200,
    stream: false,
    latencyMs: 1,
    requestEnc: null,
    responseEnc: null,
  };
}

async function stored(deps: Deps, id: string): Promise<number> {
  const [r] = await deps.database.db
    .select({ n: sql<number>`count(*)::int` })
    .from(interactions)
    .where(sql`${interactions.id} = ${id}`);
  return r?.n ?? -1;
}

describe('jobs', () => {
  let deps: Deps;

  beforeAll(async () => {
    const env = {
      DATABASE_URL: 'memory://',
      TOLLGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-jobs-')),
      LOG_FLUSH_INTERVAL_MS: String(FLUSH_INTERVAL_MS),
      RETENTION_ROWS_DAYS: '30',
    };
    deps = await openDeps(loadConfig(env), env, { logger: createLogger('silent') });
  }, 120_000);

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(async () => {
    await deps?.close();
  });

  it('names every timer of the process, the writer and the embedded vacuum included', () => {
    expect(jobsFor(deps).map((j) => j.name)).toEqual([
      'interaction writer flush',
      'interaction outbox retry',
      'key last-used flush',
      'cache maintenance',
      'cache sync',
      'analytics rollups',
      'retention',
      'embedded vacuum',
    ]);
  });

  it('flushes queued rows on its interval through the background runner, and not after stop', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const jobs = startJobs(deps);
    const first = row();
    deps.writer.enqueue(first);
    vi.advanceTimersByTime(FLUSH_INTERVAL_MS);
    await deps.background.drain();
    expect(await stored(deps, first.id)).toBe(1);

    jobs.stop();
    const second = row();
    deps.writer.enqueue(second);
    vi.advanceTimersByTime(FLUSH_INTERVAL_MS * 10);
    await deps.background.drain();
    expect(await stored(deps, second.id), 'a stopped job still wrote the queue').toBe(0);
    await deps.writer.flush();
    expect(await stored(deps, second.id)).toBe(1);
  });

  it('runs every job once without a failure (the vacuum statement included)', async () => {
    const failed: string[] = [];
    for (const job of jobsFor(deps)) {
      await job.run().catch((err: unknown) => failed.push(`${job.name}: ${String(err)}`));
    }
    expect(failed).toEqual([]);
  });

  it('logs a failing job by its name and reason, once a minute however often it fails', async () => {
    let monotonic = 0;
    const clock = { now: () => Date.now(), monotonic: () => monotonic };
    const { deps: own, logs } = await openTestDeps({}, { clock });
    try {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const jobs = startJobs(own, [
        {
          name: 'failing job',
          intervalMs: 10_000,
          run: async () => {
            throw new Error('could not extend file: No space left on device\n  at somewhere');
          },
        },
      ]);
      for (let i = 0; i < 7; i++) {
        vi.advanceTimersByTime(10_000);
        await own.background.drain();
        monotonic += 10_000;
      }
      jobs.stop();
      const lines = logs.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.filter((line) => line.msg === 'background task failed')).toEqual([]);
      expect(lines.filter((line) => line.msg === 'background job failed')).toEqual([
        expect.objectContaining({
          level: 'warn',
          job: 'failing job',
          reason: 'could not extend file: No space left on device',
          suppressedSinceLastWarning: 0,
        }),
        expect.objectContaining({ job: 'failing job', suppressedSinceLastWarning: 5 }),
      ]);
      expect(lines.some((line) => JSON.stringify(line).includes('at somewhere'))).toBe(false);
    } finally {
      await own.close();
    }
  });

  it('logs a run that held on for SLOW_JOB_MS or longer, naming the job, and no other', async () => {
    let monotonic = 0;
    const clock = { now: () => Date.now(), monotonic: () => monotonic };
    const { deps: own, logs } = await openTestDeps({}, { clock });
    try {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      // One at a time: the slow job moves the clock every run shares.
      for (const job of [
        { name: 'quick job', intervalMs: 1_000, run: async () => {} },
        {
          name: 'slow job',
          intervalMs: 1_000,
          run: async () => {
            monotonic += SLOW_JOB_MS;
          },
        },
      ]) {
        const jobs = startJobs(own, [job]);
        vi.advanceTimersByTime(1_000);
        await own.background.drain();
        jobs.stop();
      }
      const slow = logs
        .map((line) => JSON.parse(line) as { msg?: string; job?: string; ms?: number })
        .filter((line) => line.msg === 'background job was slow');
      expect(slow).toEqual([
        expect.objectContaining({ job: 'slow job', ms: SLOW_JOB_MS, level: 'warn' }),
      ]);
    } finally {
      await own.close();
    }
  });
});

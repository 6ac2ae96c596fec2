import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/runtime/logger.js';
import { Resources } from '../../src/runtime/resources.js';

function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: createLogger('warn', sink), lines };
}

describe('resources', () => {
  it('closes in the reverse of the order things were built', async () => {
    const { logger } = capturingLogger();
    const resources = new Resources(logger);
    const closed: string[] = [];
    for (const name of ['database', 'writer', 'sealer']) {
      resources.add(name, () => {
        closed.push(name);
      });
    }
    expect(resources.closeOrder).toEqual(['sealer', 'writer', 'database']);
    await resources.close();
    expect(closed).toEqual(['sealer', 'writer', 'database']);
  });

  it('logs a failing step with its first line and still closes the steps after it', async () => {
    const { logger, lines } = capturingLogger();
    const resources = new Resources(logger);
    const closed: string[] = [];
    resources.add('database', () => {
      closed.push('database');
    });
    resources.add('cache', async () => {
      throw new Error('socket gone\nwith a long stack of detail');
    });
    await resources.close();
    expect(closed).toEqual(['database']);
    const logged = lines.map((l) => JSON.parse(l) as { step?: string; reason?: string });
    expect(logged, lines.join('')).toEqual([
      expect.objectContaining({ step: 'cache', reason: 'socket gone' }),
    ]);
  });

  it('moves on from a step that never finishes once its bound has passed', async () => {
    const { logger, lines } = capturingLogger();
    const resources = new Resources(logger);
    const closed: string[] = [];
    resources.add('database', () => {
      closed.push('database');
    });
    resources.add('stuck writer', () => new Promise<void>(() => {}), 20);
    await resources.close();
    expect(closed).toEqual(['database']);
    expect(lines.join('')).toContain('closing stuck writer timed out after 20 ms');
  });

  it('closes once however often it is asked, and refuses new steps while closing', async () => {
    const { logger } = capturingLogger();
    const resources = new Resources(logger);
    let closes = 0;
    resources.add('database', () => {
      closes++;
    });
    await Promise.all([resources.close(), resources.close()]);
    await resources.close();
    expect(closes).toBe(1);
    expect(() => resources.add('late', () => {})).toThrow(/cannot register late/);
  });

  it('closes what was built so far when a build step fails, and rethrows its error', async () => {
    const { logger } = capturingLogger();
    const resources = new Resources(logger);
    let closed = false;
    resources.add('database', () => {
      closed = true;
    });
    await expect(resources.abandon(new Error('migration failed'))).rejects.toThrow(
      'migration failed',
    );
    expect(closed).toBe(true);
  });
});

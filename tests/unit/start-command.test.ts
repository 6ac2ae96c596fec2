import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStartScript, startCommand } from '../../bench/lib/start-command.js';

const dockerfile = readFileSync(join(import.meta.dirname, '../../Dockerfile'), 'utf8');

describe('how the gateway is started', () => {
  const start = startCommand();

  it('npm start runs the build with two malloc arenas and a heap that grows by half at a time', () => {
    expect(start).toEqual({
      env: { MALLOC_ARENA_MAX: '2' },
      nodeFlags: ['--heap-growing-percent=50'],
    });
  });

  it('the image runs the gateway as npm start does', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(cmd && JSON.parse(cmd)).toEqual([
      'node',
      ...start.nodeFlags,
      'dist/cli/main.js',
      'serve',
    ]);
    const env = [...dockerfile.matchAll(/^ENV (.*)$/gm)].map((m) => m[1]).join(' ');
    for (const [name, value] of Object.entries(start.env))
      expect(env).toContain(`${name}=${value}`);
  });

  it('its command runs: the build answers --help under the same flags and environment', () => {
    const run = spawnSync(
      process.execPath,
      [...start.nodeFlags, join(import.meta.dirname, '../../dist/cli/main.js'), '--help'],
      { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...start.env } },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/serve/);
  });

  it('refuses a start script that does not run the build with node', () => {
    expect(() => parseStartScript('tsx src/cli/main.ts serve')).toThrow(/does not run node/);
    expect(() => parseStartScript('node other.js')).toThrow(/dist\/cli\/main\.js/);
    expect(
      parseStartScript('node bin/x.js && A=1 B=2 node --x --y dist/cli/main.js serve'),
    ).toEqual({
      env: { A: '1', B: '2' },
      nodeFlags: ['--x', '--y'],
    });
    expect(parseStartScript('node bin/x.js && A=1 exec node --x dist/cli/main.js serve')).toEqual({
      env: { A: '1' },
      nodeFlags: ['--x'],
    });
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStartScript, startCommand } from '../../bench/lib/start-command.js';

/** glibc's dynamic loader on x86-64 Linux, which lists the tunables it reads. */
const GLIBC_LOADER = '/lib64/ld-linux-x86-64.so.2';

const dockerfile = readFileSync(join(import.meta.dirname, '../../Dockerfile'), 'utf8');

describe('how the gateway is started', () => {
  const start = startCommand();

  it('npm start runs the build with two malloc arenas, a fixed mmap threshold and a heap that grows by half at a time', () => {
    expect(start).toEqual({
      env: {
        MALLOC_ARENA_MAX: '2',
        GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072',
      },
      nodeFlags: ['--heap-growing-percent=50'],
    });
  });

  // glibc ignores a tunable it does not know: its loader lists the values it actually took.
  it.skipIf(!existsSync(GLIBC_LOADER))(
    'glibc takes the malloc tunables of the start script',
    () => {
      const listed = spawnSync(GLIBC_LOADER, ['--list-tunables'], {
        encoding: 'utf8',
        env: { GLIBC_TUNABLES: start.env.GLIBC_TUNABLES },
      });
      expect(listed.status, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/^glibc\.malloc\.mmap_threshold: 0x20000\b/m);
      expect(listed.stdout).toMatch(/^glibc\.malloc\.trim_threshold: 0x20000\b/m);
    },
  );

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
  });
});

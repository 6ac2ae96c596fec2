#!/usr/bin/env node
// `npm start` runs this before the server: it compiles only when a source or build setting is newer
// than the last build, so an unchanged tree starts without loading the TypeScript compiler at all.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUILD_INFO = join(root, 'dist', '.tsbuildinfo');
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

function newestMtimeMs(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  // A directory's own time changes when a file in it is added, removed or renamed.
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path))
    newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

const built = statSync(BUILD_INFO, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const changed = Math.max(...INPUTS.map((p) => newestMtimeMs(join(root, p))));
if (changed > built) {
  process.stderr.write('tollgate: compiling (sources changed since the last build)…\n');
  // The whole build: the server (incremental tsc) and the dashboard's browser modules.
  const tsc = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  // tsc leaves its build info alone when nothing it emits changed (an edited package.json): mark
  // the check as done so the next start does not run it again.
  const now = new Date();
  utimesSync(BUILD_INFO, now, now);
}

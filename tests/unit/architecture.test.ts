import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

/**
 * The rooms of src/, highest first: a room may import only rooms after it in this list (and
 * itself). The top-level files (main, server, app, deps, jobs, config) compose everything.
 */
const ROOMS = [
  'cli',
  'main',
  'server',
  'app',
  'routes',
  'dashboard',
  'jobs',
  'deps',
  'config',
  'pipeline',
  'http',
  'conversations',
  'recording',
  'analytics',
  'tenants',
  'keys',
  'cache',
  'compression',
  'ratelimit',
  'upstream',
  'storage',
  'crypto',
  'runtime',
] as const;

/** Upward imports still being taken apart; this list only shrinks. */
const KNOWN_UPWARD = new Set<string>([]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The room of a file: its folder under src/, or its own name for a top-level file. */
function roomOf(file: string): string {
  const [first = '', second] = relative(SRC, file).split('/');
  return second === undefined ? first.replace(/\.ts$/, '') : first;
}

/** Every relative import of a file (type-only imports included), resolved to a .ts path. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    const spec = m[1] ?? '';
    found.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return found;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('the layout of src/', () => {
  it('has no import circle', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        const from = stack.indexOf(file);
        circles.push([...stack.slice(from), file].map((f) => relative(SRC, f)).join(' → '));
        return;
      }
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next);
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) visit(file);
    expect(circles, circles.join('\n')).toEqual([]);
  });

  it('imports only from the same room or a lower one', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const room = roomOf(file);
      const rank = ROOMS.indexOf(room as (typeof ROOMS)[number]);
      for (const target of imports) {
        const targetRoom = roomOf(target);
        const targetRank = ROOMS.indexOf(targetRoom as (typeof ROOMS)[number]);
        const edge = `${relative(SRC, file)} → ${relative(SRC, target)}`;
        if (targetRoom !== room && targetRank <= rank && !KNOWN_UPWARD.has(edge)) {
          upward.push(edge);
        }
      }
    }
    expect(upward, upward.join('\n')).toEqual([]);
  });

  it('places every file in a known room', () => {
    const unknown = files
      .map((f) => roomOf(f))
      .filter((room) => !(ROOMS as readonly string[]).includes(room));
    expect([...new Set(unknown)]).toEqual([]);
  });
});

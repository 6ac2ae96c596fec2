import { readdirSync } from 'node:fs';
import { procCpu } from './proc-stat.js';

/**
 * User+system CPU, in µs, of every PostgreSQL server process on this machine by pid, from /proc
 * (Linux only; elsewhere empty). The gateway's rows on PostgreSQL leave part of their work to
 * the server (parsing and storing each batch, the cache's reads), which the gateway's own CPU
 * does not count, while the embedded database's thread is counted in the gateway's; the two are
 * compared fairly only with the server's share beside them.
 */
export function postgresServerMicros(): Map<number, number> {
  const byPid = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return byPid;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const cpu = procCpu(`/proc/${pid}/stat`);
    if (cpu?.command === 'postgres') byPid.set(pid, cpu.micros);
  }
  return byPid;
}

/**
 * The server's CPU between two readings: each process's growth, a process started meanwhile
 * counted whole (a process that ended meanwhile is missing: the gateway keeps its connections).
 */
export function postgresServerMicrosBetween(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): number {
  let total = 0;
  for (const [pid, micros] of after) total += micros - (before.get(pid) ?? 0);
  return total;
}

import { readFileSync } from 'node:fs';

/** Scheduler ticks per second as /proc counts them (USER_HZ: 100 on every Linux build in use). */
const TICKS_PER_S = 100;

/**
 * A process's or thread's command name and user+system CPU so far, in µs, from its /proc
 * `stat` file (`/proc/<pid>/stat`, `/proc/self/task/<tid>/stat`); null when it cannot be read
 * (ended meanwhile, not ours, not Linux).
 */
export function procCpu(statPath: string): { command: string; micros: number } | null {
  let stat: string;
  try {
    stat = readFileSync(statPath, 'latin1');
  } catch {
    return null;
  }
  // pid (comm) state …: the command may hold spaces, so the fields are counted after its ')'.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  if (!Number.isFinite(ticks)) return null;
  return { command: stat.slice(stat.indexOf('(') + 1, close), micros: (ticks * 1e6) / TICKS_PER_S };
}

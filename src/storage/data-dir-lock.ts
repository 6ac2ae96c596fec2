import {
  closeSync,
  constants,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tryLock } from 'fs-native-extensions';

/** The lock file inside a data directory; it stays on disk, only the kernel's lock on it matters. */
export const DATA_DIR_LOCK_FILE = 'tollgate.lock';

/** Who holds a data directory, as written into the lock file by the holder. */
export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

/** Raised when another live process already owns an embedded data directory. */
export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder
      ? ` (pid ${holder.pid} on host ${holder.host}, since ${holder.since}; the pid is as that process sees it, which may be another container)`
      : '';
    super(
      `The embedded database in ${dataDir} is in use by another Tollgate process${who}. ` +
        'The embedded database is single-process: stop that process, or use the admin API ' +
        '(/admin/keys, /admin/tenants) of the running server instead. To run several gateways on ' +
        'shared data, use PostgreSQL (DATABASE_URL).',
    );
    this.name = 'DataDirBusyError';
  }
}

/**
 * Takes the single-owner lock of an embedded data directory; returns its release function. The lock
 * is the kernel's (an open-file-description lock on `tollgate.lock`), not a pid file: it holds across
 * PID namespaces and containers sharing a volume, and it is released the moment the holder exits,
 * however it exits, so there is no stale lock to clean up after a crash.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, DATA_DIR_LOCK_FILE);
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
  let locked = false;
  try {
    locked = tryLock(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (!locked) {
    closeSync(fd);
    throw new DataDirBusyError(dataDir, readHolder(file));
  }
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
  };
  ftruncateSync(fd, 0);
  writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // Closing the descriptor drops the lock; the file stays so no other process races a re-create.
    closeSync(fd);
  };
}

function readHolder(file: string): LockHolder | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { pid, host, since } = parsed as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof host !== 'string' || typeof since !== 'string')
      return null;
    return { pid, host, since };
  } catch {
    return null;
  }
}

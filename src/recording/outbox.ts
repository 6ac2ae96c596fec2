import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { RetentionCutoffs, RowsPruned } from '../analytics/row-retention.js';
import { retainRow } from '../analytics/row-retention.js';
import { isRecord } from '../runtime/is-record.js';
import type { NewInteraction } from '../storage/schema.js';
import { rewriteLines } from './line-file-rewrite.js';

const SEGMENT_RE = /^segment-(\d{12})\.ndjson$/;

/** Serialises a row for the outbox: Dates as ISO strings, ciphertext as base64. No plaintext. */
export function encodeOutboxRow(row: NewInteraction): string {
  return JSON.stringify(row, (key, value: unknown) => {
    if (key === 'requestEnc' || key === 'responseEnc') {
      return value === null || value === undefined
        ? null
        : { b64: Buffer.from(value as Buffer).toString('base64') };
    }
    return value;
  });
}

/** The inverse of encodeOutboxRow. */
export function decodeOutboxRow(line: string): NewInteraction {
  return rowFromJson(JSON.parse(line) as Record<string, unknown>);
}

/** A row from its parsed outbox JSON. */
function rowFromJson(raw: Record<string, unknown>): NewInteraction {
  const bytes = (v: unknown) =>
    isRecord(v) && 'b64' in v ? Buffer.from(String(v.b64), 'base64') : null;
  return {
    ...(raw as unknown as NewInteraction),
    createdAt: new Date(String(raw.createdAt)),
    requestEnc: bytes(raw.requestEnc),
    responseEnc: bytes(raw.responseEnc),
  };
}

/** One line of the rejected file. */
function rejectedLine(reason: unknown, row: NewInteraction): string {
  return `{"reason":${JSON.stringify(reason)},"row":${encodeOutboxRow(row)}}`;
}

/**
 * A line of the outbox (`row` picks the row out of its parsed JSON) after retention: as it was,
 * re-encoded without its text, or null when the row goes. A line that does not parse (cut short
 * by a crash) is kept as it is: nothing in it can be dated.
 */
function retainLine(
  line: string,
  cutoffs: RetentionCutoffs,
  pruned: RowsPruned,
  encode: (entry: Record<string, unknown>, row: NewInteraction) => string,
  row: (entry: Record<string, unknown>) => unknown,
): string | null {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (!isRecord(entry)) return line;
  const raw = row(entry);
  if (!isRecord(raw)) return line;
  const result = retainRow(rowFromJson(raw), cutoffs);
  if (result.pruned === null) return line;
  pruned[result.pruned]++;
  return result.row === null ? null : encode(entry, result.row);
}

/** An append-only file store for rows the database could not take yet. */
export interface Outbox {
  /** Rows waiting in the outbox. */
  readonly pendingRows: number;
  /** Appends rows durably (fsync) to the open segment. */
  append(rows: readonly NewInteraction[]): Promise<void>;
  /**
   * Appends rows durably to a segment of their own at once, without waiting behind an append or a
   * replay in progress (one may be waiting on the database): for a shutdown that must end.
   */
  appendNow(rows: readonly NewInteraction[]): Promise<void>;
  /**
   * Inserts every closed segment's rows in order, deleting each segment once all of its rows are
   * in. Inserts skip ids already present, so a crash mid-replay never duplicates a row.
   */
  replay(insert: (rows: NewInteraction[]) => Promise<number>, batchSize: number): Promise<number>;
  /**
   * Keeps rows the database refused for what they hold in `rejected.ndjson` (still encrypted, one
   * `{"reason", "row"}` per line), out of the replay, so they stay on disk for an operator.
   */
  reject(rows: readonly NewInteraction[], reason: string): Promise<void>;
  /**
   * Applies retention to the rows on disk, the waiting segments' and the rejected file's, as the
   * retention pass does to the database's: rows past the rows cut-off are dropped, rows past the
   * content cut-off lose their text. Each file is rewritten whole (temporary file, fsync, rename)
   * in the queue of what appends to it, so no append is lost.
   */
  prune(cutoffs: RetentionCutoffs): Promise<RowsPruned>;
}

/** Where rows the database refused are kept, beside the outbox segments. */
export const REJECTED_FILE = 'rejected.ndjson';

/**
 * Appends `text` to `file` (created 0600) and waits until it is on disk. On failure the file is
 * cut back to where it was (removed if it was new): a full disk can take part of the text, and the
 * next append would otherwise continue a cut line, making its first row unreadable at replay.
 */
async function appendDurably(file: string, text: string): Promise<void> {
  const fh = await open(file, 'a', 0o600);
  let sizeBefore = 0;
  try {
    sizeBefore = (await fh.stat()).size;
    await fh.appendFile(text);
    await fh.datasync();
  } catch (err) {
    await fh.truncate(sizeBefore).catch(() => {});
    await fh.close();
    if (sizeBefore === 0) await rm(file, { force: true }).catch(() => {});
    throw err;
  }
  await fh.close();
}

/** Opens (and counts) the outbox in `<dir>`. */
export async function openOutbox(
  dir: string,
  onCorruptLine: (file: string, line: number) => void,
): Promise<Outbox> {
  await mkdir(dir, { recursive: true });
  const segments = async () =>
    (await readdir(dir))
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ file: join(dir, m[0]), seq: Number(m[1]) }))
      .sort((a, b) => a.seq - b.seq);

  async function* lines(file: string) {
    const rl = createInterface({
      input: createReadStream(file, 'utf8'),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let n = 0;
    for await (const line of rl) {
      n++;
      if (line.trim() === '') continue;
      try {
        yield decodeOutboxRow(line);
      } catch {
        // Only a line cut short by a crash mid-append can fail to parse.
        onCorruptLine(file, n);
      }
    }
  }

  let pending = 0;
  const existing = await segments();
  for (const s of existing) for await (const _ of lines(s.file)) pending++;
  let nextSeq = (existing.at(-1)?.seq ?? 0) + 1;
  let current: string | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  let rejecting: Promise<unknown> = Promise.resolve();
  /** Segments `appendNow` is writing outside the queue: a prune leaves them alone. */
  const writingNow = new Set<string>();

  return {
    get pendingRows() {
      return pending;
    },
    append(rows) {
      const run = chain.then(async () => {
        if (rows.length === 0) return;
        current ??= join(dir, `segment-${String(nextSeq++).padStart(12, '0')}.ndjson`);
        try {
          await appendDurably(current, `${rows.map(encodeOutboxRow).join('\n')}\n`);
        } catch (err) {
          // Had the cut-back failed, the cut line ends this segment rather than start a row.
          current = null;
          throw err;
        }
        pending += rows.length;
      });
      chain = run.catch(() => {});
      return run;
    },
    async appendNow(rows) {
      if (rows.length === 0) return;
      const own = join(dir, `segment-${String(nextSeq++).padStart(12, '0')}.ndjson`);
      writingNow.add(own);
      try {
        await appendDurably(own, `${rows.map(encodeOutboxRow).join('\n')}\n`);
      } finally {
        writingNow.delete(own);
      }
      pending += rows.length;
    },
    reject(rows, reason) {
      // Its own queue: replay calls this while it holds the segments' queue.
      const run = rejecting.then(() =>
        appendDurably(
          join(dir, REJECTED_FILE),
          rows.map((row) => `${rejectedLine(reason, row)}\n`).join(''),
        ),
      );
      rejecting = run.catch(() => {});
      return run;
    },
    async prune(cutoffs) {
      const pruned: RowsPruned = { rowsDeleted: 0, contentErased: 0 };
      // The rejected file in its own queue, as `reject` appends; the segments in theirs.
      const rejected = rejecting.then(() =>
        rewriteLines(join(dir, REJECTED_FILE), (line) =>
          retainLine(
            line,
            cutoffs,
            pruned,
            (entry, row) => rejectedLine(entry.reason, row),
            (entry) => entry.row,
          ),
        ),
      );
      rejecting = rejected.catch(() => {});
      await rejected;
      const inSegments = chain.then(async () => {
        for (const s of await segments()) {
          if (writingNow.has(s.file)) continue;
          const before = pruned.rowsDeleted;
          await rewriteLines(s.file, (line) =>
            retainLine(
              line,
              cutoffs,
              pruned,
              (_entry, row) => encodeOutboxRow(row),
              (e) => e,
            ),
          );
          pending = Math.max(0, pending - (pruned.rowsDeleted - before));
        }
      });
      chain = inSegments.catch(() => {});
      await inSegments;
      return pruned;
    },
    replay(insert, batchSize) {
      const run = chain.then(async () => {
        current = null; // later appends start a new segment, after everything replayed here
        let replayed = 0;
        for (const s of await segments()) {
          let batch: NewInteraction[] = [];
          let rowsInFile = 0;
          for await (const row of lines(s.file)) {
            batch.push(row);
            rowsInFile++;
            if (batch.length >= batchSize) {
              replayed += await insert(batch);
              batch = [];
            }
          }
          if (batch.length > 0) replayed += await insert(batch);
          await rm(s.file);
          pending = Math.max(0, pending - rowsInFile);
        }
        return replayed;
      });
      chain = run.catch(() => {});
      return run;
    },
  };
}

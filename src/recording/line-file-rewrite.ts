import type { ReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileErrorCode } from './write-stall.js';

/** Lines written to the new file in one call. */
const WRITE_CHUNK_CHARS = 64 * 1024;

/**
 * Rewrites a file of lines through `keep` (the line as is, another line, or null to drop it),
 * safely: the new text goes to a temporary file beside it, fsynced, then renamed over the old one
 * (and the directory fsynced), so a crash leaves either file whole. A file nothing changed in is
 * left alone; one with no line left is removed. The caller serialises with anything appending.
 * Resolves with whether the file changed; a missing file is unchanged.
 */
export async function rewriteLines(
  file: string,
  keep: (line: string) => string | null,
): Promise<boolean> {
  const tmp = `${file}.tmp`;
  let input: ReadStream;
  try {
    const fh = await open(file, 'r');
    input = fh.createReadStream({ encoding: 'utf8' });
  } catch (err) {
    if (fileErrorCode(err) === 'ENOENT') return false;
    throw err;
  }
  const out = await open(tmp, 'w', 0o600);
  let changed = false;
  let kept = 0;
  try {
    let chunk = '';
    const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of rl) {
      if (line === '') continue;
      const next = keep(line);
      if (next !== line) changed = true;
      if (next === null) continue;
      kept++;
      chunk += `${next}\n`;
      if (chunk.length >= WRITE_CHUNK_CHARS) {
        await out.write(chunk);
        chunk = '';
      }
    }
    if (chunk !== '') await out.write(chunk);
    if (changed && kept > 0) await out.datasync();
  } catch (err) {
    input.destroy();
    await out.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await out.close();
  if (!changed) {
    await rm(tmp, { force: true });
    return false;
  }
  if (kept === 0) {
    await rm(tmp, { force: true });
    await rm(file, { force: true });
  } else {
    await rename(tmp, file);
  }
  await syncDirectory(dirname(file));
  return true;
}

/** Makes a rename or removal in `dir` durable. */
async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

import { readFile } from 'node:fs/promises';

/** One scored sentence pair: `stored` is cached, `query` asks. */
export interface ScoredPair {
  readonly stored: string;
  readonly query: string;
  /** 'same' for score ≥ 4, 'different' for score ≤ 2, 'ignored' in between. */
  readonly label: 'same' | 'different' | 'ignored';
}

/** A named set of scored pairs. */
export interface PairSet {
  readonly name: string;
  readonly pairs: readonly ScoredPair[];
}

/** The three scored sets in `dir`: STS-B dev and test, SemEval-2016 question-question. */
export async function loadPairSets(
  dir: URL,
): Promise<{ dev: PairSet; test: PairSet; qq: PairSet }> {
  const [dev, test, qq] = await Promise.all([
    load(dir, 'stsb-dev', 'stsb_dev.jsonl', 'sentence1', 'sentence2'),
    load(dir, 'stsb-test', 'stsb_test.jsonl', 'sentence1', 'sentence2'),
    load(dir, 'sts16-qq', 'sts2016_qq_scored.jsonl', 'question1', 'question2'),
  ]);
  return { dev, test, qq };
}

async function load(
  dir: URL,
  name: string,
  file: string,
  first: string,
  second: string,
): Promise<PairSet> {
  const text = await readFile(new URL(file, dir), 'utf8');
  const pairs: ScoredPair[] = [];
  for (const [n, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const row: unknown = JSON.parse(line);
    if (typeof row !== 'object' || row === null) throw new Error(`${file}:${n + 1}: not an object`);
    const record = row as Record<string, unknown>;
    const stored = record[first];
    const query = record[second];
    const score = record.score;
    if (typeof stored !== 'string' || typeof query !== 'string' || typeof score !== 'number') {
      throw new Error(`${file}:${n + 1}: expected ${first}, ${second} and a numeric score`);
    }
    const label = score >= 4 ? 'same' : score <= 2 ? 'different' : 'ignored';
    pairs.push({ stored, query, label });
  }
  return { name, pairs };
}

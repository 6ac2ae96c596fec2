/**
 * Prompt-compression benchmark: token savings, speed and information retention of `safe` and
 * `aggressive` on the shared evaluation prompts (never copied into the repository).
 * Run with `npm run bench:compression`.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import {
  AGGRESSIVE_MIN_TOKENS,
  aggressiveTransform,
} from '../src/compression/aggressive-transforms.js';
import { BOILERPLATE_RULES } from '../src/compression/boilerplate.js';
import { type CompressionMode, compressMessages } from '../src/compression/compress-messages.js';
import { DuplicateRegistry } from '../src/compression/duplicate-registry.js';
import { FILLER_RULES } from '../src/compression/filler-phrases.js';
import { findProtectedSpans } from '../src/compression/protected-spans.js';
import { applyRule, type RewriteRule } from '../src/compression/rewrite-rule.js';
import { compressSafeText } from '../src/compression/safe-transforms.js';
import { countTokens } from '../src/compression/token-count.js';

const PROMPTS_DIR = new URL('../../shared/data/prompts/', import.meta.url);
const MODEL = 'gpt-4o';
const TIMED_RUNS = 3;
/** Budget for safe mode on the request path, in ms per 10 KB of prompt. */
const GOAL_MS_PER_10KB = 1;

interface Dataset {
  name: string;
  prompts: string[];
}

interface NqRecord {
  prompt: string;
  question: string;
  answers: string[];
  title: string;
  passage: string;
}

function readPrompt(file: string): string {
  return readFileSync(new URL(file, PROMPTS_DIR), 'utf8');
}

function loadAwesome(): string[] {
  return readPrompt('awesome-chatgpt-prompts.jsonl')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => (JSON.parse(line) as { prompt: string }).prompt);
}

/** The question-answering prompt of the lost-in-the-middle study, with the one gold passage. */
function loadNq(): NqRecord[] {
  const raw = gunzipSync(readFileSync(new URL('nq-open-oracle.jsonl.gz', PROMPTS_DIR)));
  return raw
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      const row = JSON.parse(line) as {
        question: string;
        answers: string[];
        ctxs: { title: string; text: string }[];
      };
      const documents = row.ctxs
        .map((ctx, i) => `Document [${i + 1}](Title: ${ctx.title}) ${ctx.text}`)
        .join('\n');
      const prompt =
        'Write a high-quality answer for the given question using only the provided search ' +
        'results (some of which might be irrelevant).\n\n' +
        `${documents}\n\nQuestion: ${row.question}\nAnswer:`;
      const gold = row.ctxs[0] ?? { title: '', text: '' };
      return {
        prompt,
        question: row.question,
        answers: row.answers,
        title: gold.title,
        passage: gold.text,
      };
    });
}

function compressUser(text: string, mode: CompressionMode) {
  const result = compressMessages([{ role: 'user', content: text }], { mode, model: MODEL });
  const message = result.messages[0] as { content: string };
  return { text: message.content, before: result.tokensBefore, after: result.tokensAfter };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? 0;
}

function bytes(prompts: string[]): number {
  return prompts.reduce((sum, text) => sum + Buffer.byteLength(text, 'utf8'), 0);
}

/** Best of several timed runs, after one warm-up run, in milliseconds. */
function bestTime(run: () => void): number {
  run();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < TIMED_RUNS; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

function fmt(value: number, digits = 1): string {
  return value.toFixed(digits);
}

/** One table row, and the request-path figure for the goal check. */
interface SavingsRow {
  cells: string[];
  requestPathMsPer10Kb: number;
}

function savingsRow(dataset: Dataset, mode: CompressionMode): SavingsRow {
  const perPrompt: number[] = [];
  let before = 0;
  let after = 0;
  let changed = 0;
  for (const prompt of dataset.prompts) {
    const result = compressUser(prompt, mode);
    before += result.before;
    after += result.after;
    if (result.text !== prompt) changed++;
    perPrompt.push(
      result.before === 0 ? 0 : (100 * (result.before - result.after)) / result.before,
    );
  }
  perPrompt.sort((a, b) => a - b);
  const size = bytes(dataset.prompts);
  const ms = bestTime(() => {
    for (const prompt of dataset.prompts) compressUser(prompt, mode);
  });
  const row = [
    dataset.name,
    mode,
    String(dataset.prompts.length),
    String(before),
    String(after),
    fmt(percentile(perPrompt, 50), 2),
    fmt(percentile(perPrompt, 90), 2),
    fmt((100 * (before - after)) / before, 2),
    `${changed}/${dataset.prompts.length}`,
    fmt((ms * 1_000_000) / size, 0),
    fmt((ms * 10_240) / size, 3),
  ];
  if (mode === 'safe') {
    const transformMs = bestTime(() => {
      for (const prompt of dataset.prompts) compressSafeText(prompt);
    });
    const countMs = bestTime(() => {
      for (const prompt of dataset.prompts) countTokens(prompt, MODEL);
    });
    row.push(fmt((transformMs * 10_240) / size, 3), fmt((countMs * 10_240) / size, 3));
  } else {
    row.push('', '');
  }
  // What the compress stage runs per request: in safe mode only the text around the edits is
  // tokenized (aggressive mode counts whole texts either way).
  const requestPathMs = bestTime(() => {
    for (const prompt of dataset.prompts) {
      compressMessages([{ role: 'user', content: prompt }], {
        mode,
        model: MODEL,
        countUnchanged: false,
      });
    }
  });
  const requestPathMsPer10Kb = (requestPathMs * 10_240) / size;
  row.push(fmt(requestPathMsPer10Kb, 3));
  return { cells: row, requestPathMsPer10Kb };
}

/** Whether safe mode's request path stays within the budget on every dataset. */
function printGoal(safeRows: { dataset: string; msPer10Kb: number }[]): void {
  const over = safeRows.filter((row) => row.msPer10Kb >= GOAL_MS_PER_10KB);
  const verdict = over.length === 0 ? 'met' : `NOT met on ${over.length}`;
  console.log(
    `Goal: safe request path under ${GOAL_MS_PER_10KB} ms/10KB on every dataset: ${verdict}.`,
  );
  for (const row of safeRows) {
    const mark = row.msPer10Kb < GOAL_MS_PER_10KB ? 'under' : 'OVER';
    console.log(`  ${row.dataset.padEnd(24)} ${fmt(row.msPer10Kb, 3)} ms/10KB  ${mark}`);
  }
  console.log('');
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log('');
}

/** Share of NQ prompts whose gold answers (those present in the prompt) all survive verbatim. */
function nqRetention(records: NqRecord[], compress: (text: string) => string): string {
  let kept = 0;
  let answersTotal = 0;
  let answersKept = 0;
  for (const record of records) {
    const out = compress(record.prompt);
    const present = record.answers.filter((answer) => record.prompt.includes(answer));
    const survived = present.filter((answer) => out.includes(answer)).length;
    answersTotal += present.length;
    answersKept += survived;
    if (survived === present.length) kept++;
  }
  return `${kept}/${records.length} prompts (${fmt((100 * kept) / records.length, 2)}%), ${answersKept}/${answersTotal} answers`;
}

const NUMBER = /\d+(?:[.,:/]\d+)*/g;

/** Whether the sequence of numbers in the output equals the input's (every occurrence kept). */
function numbersKept(input: string, output: string): string {
  const want: string[] = input.match(NUMBER) ?? [];
  const got: string[] = output.match(NUMBER) ?? [];
  const same = want.length === got.length && want.every((n, i) => got[i] === n);
  const missing = want.filter((n) => !got.includes(n));
  return `${got.length}/${want.length} number occurrences, sequence ${same ? 'identical' : 'DIFFERS'}, ${missing.length} distinct missing`;
}

/** Lossy transforms applied regardless of the size threshold, on top of `safe`. */
function forcedAggressive(text: string, rules?: readonly RewriteRule[]): string {
  return aggressiveTransform(compressSafeText(text), new DuplicateRegistry(), rules);
}

function ruleSavings(large: string[]): string[][] {
  const safeTexts = large.map((text) => compressSafeText(text));
  const base = safeTexts.reduce((sum, text) => sum + countTokens(text, MODEL), 0);
  const measure = (name: string, transform: (text: string) => string): string[] => {
    let after = 0;
    for (const text of safeTexts) {
      after += Math.min(countTokens(transform(text), MODEL), countTokens(text, MODEL));
    }
    return [name, String(base - after), fmt((100 * (base - after)) / base, 2)];
  };
  return [
    measure('duplicate sentences/paragraphs', (t) =>
      aggressiveTransform(t, new DuplicateRegistry(), []),
    ),
    ...[...BOILERPLATE_RULES, ...FILLER_RULES].map((rule) =>
      measure(rule.name, (t) => compressSafeText(applyRule(t, rule, findProtectedSpans(t)))),
    ),
    measure('all (aggressive)', (t) => aggressiveTransform(t, new DuplicateRegistry())),
  ];
}

interface Conversation {
  messages: { role: string; content: string }[];
  /** Per user turn: the gold answers present in that turn's documents. */
  answers: string[][];
}

/**
 * A synthetic multi-turn retrieval chat (not a published benchmark): each user turn carries ten
 * NQ passages, half of them already retrieved in the previous turn, as retrieval often does.
 */
function buildConversations(records: NqRecord[]): Conversation[] {
  const conversations: Conversation[] = [];
  const turns = 4;
  const perTurn = 10;
  const stride = 5;
  const span = stride * (turns - 1) + perTurn;
  for (let base = 0; base + span <= records.length && conversations.length < 60; base += span) {
    const messages: { role: string; content: string }[] = [
      { role: 'system', content: 'You answer questions from the provided search results.' },
    ];
    const answers: string[][] = [];
    for (let turn = 0; turn < turns; turn++) {
      const docs = records.slice(base + turn * stride, base + turn * stride + perTurn);
      const question = records[base + turn * stride]?.question ?? '';
      const body = docs.map((row, i) => `Document [${i + 1}](Title: ${row.title}) ${row.passage}`);
      messages.push({
        role: 'user',
        content: `Search results:\n\n${body.join('\n\n')}\n\nQuestion: ${question}`,
      });
      messages.push({
        role: 'assistant',
        content: records[base + turn * stride]?.answers[0] ?? '',
      });
      answers.push(docs.flatMap((row) => row.answers.filter((a) => row.passage.includes(a))));
    }
    conversations.push({ messages, answers });
  }
  return conversations;
}

function conversationRows(conversations: Conversation[]): string[][] {
  return (['safe', 'aggressive'] as const).map((mode) => {
    let before = 0;
    let after = 0;
    let answers = 0;
    let kept = 0;
    for (const conversation of conversations) {
      const result = compressMessages(conversation.messages, { mode, model: MODEL });
      before += result.tokensBefore;
      after += result.tokensAfter;
      const out = result.messages as { content: string }[];
      conversation.answers.forEach((turnAnswers, turn) => {
        // Everything the model sees up to and including this user turn.
        const visible = out
          .slice(0, 2 + turn * 2)
          .map((m) => m.content)
          .join('\n');
        answers += turnAnswers.length;
        kept += turnAnswers.filter((a) => visible.includes(a)).length;
      });
    }
    return [
      mode,
      String(conversations.length),
      String(before),
      String(after),
      fmt((100 * (before - after)) / before, 2),
      `${kept}/${answers}`,
    ];
  });
}

function main(): void {
  const awesome = loadAwesome();
  const gsm8k = readPrompt('gsm8k_prompt_hardest.txt');
  const sotu = readPrompt('state_of_the_union_2022.txt');
  const nq = loadNq();
  const datasets: Dataset[] = [
    { name: 'awesome-chatgpt-prompts', prompts: awesome },
    { name: 'gsm8k_prompt_hardest', prompts: [gsm8k] },
    { name: 'state_of_the_union_2022', prompts: [sotu] },
    { name: 'nq-open-oracle', prompts: nq.map((record) => record.prompt) },
  ];

  console.log(`Model ${MODEL} (o200k_base); aggressive threshold ${AGGRESSIVE_MIN_TOKENS} tokens.`);
  console.log('Savings per prompt: median and p90 of (before-after)/before; total over the set.');
  console.log('ms/MB and ms/10KB time compressMessages, exact token counts included; "transform"');
  console.log('times the safe text transforms alone, "count" one countTokens of the input alone,');
  console.log(
    '"request path" what the gateway runs per request (safe: only text around edits counted).',
  );
  console.log('Sizes are UTF-8 bytes. Best of 3 runs after a warm-up.\n');
  const header = [
    'dataset',
    'mode',
    'prompts',
    'tokens before',
    'tokens after',
    'median %',
    'p90 %',
    'total %',
    'changed',
    'ms/MB',
    'ms/10KB',
    'transform ms/10KB',
    'count ms/10KB',
    'request path ms/10KB',
  ];
  const rows: string[][] = [];
  const safeRows: { dataset: string; msPer10Kb: number }[] = [];
  for (const dataset of datasets) {
    for (const mode of ['safe', 'aggressive'] as const) {
      const row = savingsRow(dataset, mode);
      rows.push(row.cells);
      if (mode === 'safe') {
        safeRows.push({ dataset: dataset.name, msPer10Kb: row.requestPathMsPer10Kb });
      }
    }
  }
  printTable(header, rows);
  printGoal(safeRows);

  console.log('Retention');
  const safe = (text: string) => compressUser(text, 'safe').text;
  const aggressive = (text: string) => compressUser(text, 'aggressive').text;
  console.log(`  NQ safe:                       ${nqRetention(nq, safe)}`);
  console.log(`  NQ aggressive:                 ${nqRetention(nq, aggressive)}`);
  console.log(`  NQ aggressive, threshold off:  ${nqRetention(nq, (t) => forcedAggressive(t))}`);
  console.log(`  GSM8K safe:        ${numbersKept(gsm8k, safe(gsm8k))}`);
  console.log(`  GSM8K aggressive:  ${numbersKept(gsm8k, aggressive(gsm8k))}`);
  console.log('');

  const large = [...awesome, gsm8k, sotu].filter(
    (text) => countTokens(compressSafeText(text), MODEL) >= AGGRESSIVE_MIN_TOKENS,
  );
  console.log(
    `Lossy rules alone, on top of safe, over the ${large.length} prompts at or above the threshold:`,
  );
  printTable(['rule', 'tokens saved', '% of safe tokens'], ruleSavings(large));

  const conversations = buildConversations(nq);
  console.log('Synthetic retrieval chat (4 user turns x 10 NQ passages, half repeated from the');
  console.log('previous turn); answers kept = gold answers still visible at their turn:');
  printTable(
    ['mode', 'conversations', 'tokens before', 'tokens after', 'total %', 'answers kept'],
    conversationRows(conversations),
  );
}

main();

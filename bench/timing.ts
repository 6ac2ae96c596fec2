/**
 * Timing claims the test suite no longer makes (a busy machine must not fail it): the local
 * embedder embeds a short question in well under a millisecond, the cache's guards check a pair
 * of short questions in well under one and stay linear on hostile input, and compression stays
 * linear on adversarial 100 kB inputs. Run with `npm run bench:timing` on a quiet machine; exits 1 on a miss.
 */
import { createLocalEmbedder } from '../src/cache/embedders/local-embedder.js';
import { guardSemanticMatch } from '../src/cache/guards.js';
import { aggressiveTransform } from '../src/compression/aggressive-transforms.js';
import { DuplicateRegistry } from '../src/compression/duplicate-registry.js';
import { compressSafeText } from '../src/compression/safe-transforms.js';
import {
  ADVERSARIAL_INPUTS,
  HOSTILE_GUARD_INPUTS,
  SHORT_PAIR,
} from '../tests/helpers/adversarial-inputs.js';

/** Per short question, for the local embedder. */
const EMBED_BUDGET_MS = 0.25;
/** Per pair of short questions, for the semantic cache's guards. */
const GUARD_PAIR_BUDGET_MS = 0.5;
/** Every hostile guard input together (linear work: milliseconds; quadratic: seconds). */
const GUARD_HOSTILE_BUDGET_MS = 1_000;
/** Linear work on 100 kB takes tens of milliseconds; a quadratic pattern takes tens of seconds. */
const ADVERSARIAL_BUDGET_MS = 1_500;

let misses = 0;

function report(name: string, ms: number, budgetMs: number): void {
  const ok = ms < budgetMs;
  if (!ok) misses++;
  console.log(`${ok ? 'ok  ' : 'MISS'} ${name}: ${ms.toFixed(3)} ms (budget ${budgetMs} ms)`);
}

const embedder = createLocalEmbedder();
const questions = Array.from({ length: 500 }, (_, i) => `How do I sort list number ${i}?`);
for (const q of questions.slice(0, 50)) embedder.embedSync(q);
const embedStart = performance.now();
for (const q of questions) embedder.embedSync(q);
report(
  'local embedder, one short question',
  (performance.now() - embedStart) / questions.length,
  EMBED_BUDGET_MS,
);

for (let i = 0; i < 50; i++) guardSemanticMatch(SHORT_PAIR[0], SHORT_PAIR[1]);
const guardStart = performance.now();
for (let i = 0; i < 500; i++) guardSemanticMatch(SHORT_PAIR[0], SHORT_PAIR[1]);
report(
  'cache guards, a pair of short questions',
  (performance.now() - guardStart) / 500,
  GUARD_PAIR_BUDGET_MS,
);
const hostileStart = performance.now();
for (const text of HOSTILE_GUARD_INPUTS) guardSemanticMatch(text, `${text} not`);
report('cache guards, hostile inputs', performance.now() - hostileStart, GUARD_HOSTILE_BUDGET_MS);

for (const [name, text] of Object.entries(ADVERSARIAL_INPUTS)) {
  const start = performance.now();
  aggressiveTransform(compressSafeText(text), new DuplicateRegistry());
  report(`compression, ${name}`, performance.now() - start, ADVERSARIAL_BUDGET_MS);
}

process.exit(misses === 0 ? 0 : 1);

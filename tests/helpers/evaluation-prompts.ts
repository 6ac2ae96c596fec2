import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** The shared evaluation prompts, beside the repository (never copied into it). */
const PROMPTS_DIR = new URL('../../../shared/data/prompts/', import.meta.url);

/** One real prompt and where it came from. */
export interface EvaluationPrompt {
  source: string;
  text: string;
  /** NQ gold answers found verbatim in the prompt (NQ prompts only). */
  answers: string[];
}

/** Whether `../shared/data/prompts` is present next to the repository. */
export function evaluationDataAvailable(): boolean {
  return existsSync(new URL('awesome-chatgpt-prompts.jsonl', PROMPTS_DIR));
}

let cache: { awesome: string[]; nq: EvaluationPrompt[]; gsm8k: string; sotu: string } | undefined;

function load() {
  if (cache !== undefined) return cache;
  const read = (file: string) => readFileSync(new URL(file, PROMPTS_DIR));
  const awesome = read('awesome-chatgpt-prompts.jsonl')
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => (JSON.parse(line) as { prompt: string }).prompt)
    .sort((a, b) => a.length - b.length);
  const nq = gunzipSync(read('nq-open-oracle.jsonl.gz'))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line, index): EvaluationPrompt => {
      const row = JSON.parse(line) as {
        question: string;
        answers: string[];
        ctxs: { title: string; text: string }[];
      };
      const docs = row.ctxs.map((c, i) => `Document [${i + 1}](Title: ${c.title}) ${c.text}`);
      const text = `Answer from the search results.\n\n${docs.join('\n')}\n\nQuestion: ${row.question}\nAnswer:`;
      const answers = row.answers.filter((answer) => text.includes(answer));
      return { source: `nq #${index}`, text, answers };
    });
  cache = {
    awesome,
    nq,
    gsm8k: read('gsm8k_prompt_hardest.txt').toString('utf8'),
    sotu: read('state_of_the_union_2022.txt').toString('utf8'),
  };
  return cache;
}

/**
 * A deterministic sample of the real prompts: `count` role prompts spread evenly over their
 * length range (so the longest is included), the GSM8K few-shot prompt, the State of the Union
 * speech, and `count` NQ question + passage prompts.
 */
export function samplePrompts(count: number): EvaluationPrompt[] {
  const { awesome, nq, gsm8k, sotu } = load();
  const sample: EvaluationPrompt[] = [];
  for (let i = 0; i < count; i++) {
    const index = Math.round((i * (awesome.length - 1)) / Math.max(1, count - 1));
    sample.push({ source: `awesome by length #${index}`, text: awesome[index] ?? '', answers: [] });
  }
  sample.push({ source: 'gsm8k_prompt_hardest', text: gsm8k, answers: [] });
  sample.push({ source: 'state_of_the_union_2022', text: sotu, answers: [] });
  const step = Math.max(1, Math.floor(nq.length / Math.max(1, count)));
  for (let i = 0; i < count && i * step < nq.length; i++) {
    const prompt = nq[i * step];
    if (prompt !== undefined) sample.push(prompt);
  }
  return sample;
}

/** The NQ prompts (question + gold passage) with their verbatim gold answers. */
export function nqPrompts(): EvaluationPrompt[] {
  return load().nq;
}

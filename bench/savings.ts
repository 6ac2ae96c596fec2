import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.js';
import { countPromptTokens, countTokens } from '../src/compression/token-count.js';
import { loadConfig } from '../src/config.js';
import { openDeps } from '../src/deps.js';
import { createKey } from '../src/keys/key-admin.js';
import { createLogger } from '../src/runtime/logger.js';

/**
 * What each of the four kinds of saving is worth on one small scripted mix, through the real
 * gateway (in process, in-memory database) against a fake provider that keeps a prompt cache the
 * way OpenAI documents it: a request whose `prompt_cache_key` and prefix (system prompt and
 * tools) it has seen before is billed its prefix as cached tokens, rounded down to 128-token
 * blocks, when the prefix is at least 1,024 tokens. The mix (one tenant, model gpt-4.1):
 *
 * - 40 support questions under one long system prompt with tools, 24 of them distinct;
 * - 8 of those asked again word for word (exact cache hits);
 * - 8 asked again in other words (semantic hits where the embedder is sure, misses otherwise);
 * - every 4th question pasted with runs of spaces and blank lines (what `safe` compression removes).
 *
 * Prints the summary's savings block for the period of the run. Run: `npm run bench:savings`.
 */

const MODEL = 'gpt-4.1';
const POLICY_LINES = [
  'Refunds are possible within 30 days of purchase for unused licences.',
  'Invoices are sent on the first working day of each month, in euros or US dollars.',
  'Support hours are 08:00 to 18:00 CET, Monday to Friday, except public holidays.',
  'Enterprise plans include a named account manager and a 4-hour response time.',
  'Data is stored in the EU (Frankfurt) and never leaves it without written consent.',
  'Seats can be added at any time and are billed pro rata for the rest of the term.',
];
/** A long, stable system prompt: the prefix a provider's prompt cache can reuse. */
const SYSTEM_PROMPT = [
  'You are the support assistant of ACME Cloud. Answer briefly and cite the policy you rely on.',
  ...Array.from(
    { length: 60 },
    (_, i) =>
      `Policy ${i + 1}. ${POLICY_LINES[i % POLICY_LINES.length]} (section ${i + 1}.${i % 4})`,
  ),
  'Never promise anything the policies above do not say. Escalate legal questions to a human.',
].join('\n');
const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'lookup_invoice',
      description: 'Finds an invoice by its number and returns its status and amount.',
      parameters: {
        type: 'object',
        properties: {
          number: { type: 'string', description: 'Invoice number, e.g. INV-2024-0042' },
        },
        required: ['number'],
      },
    },
  },
];

const TOPICS = [
  'the refund policy for unused licences',
  'when invoices are sent',
  'your support hours',
  'what the enterprise plan includes',
  'where my data is stored',
  'how adding seats is billed',
  'paying invoices in US dollars',
  'the response time of enterprise support',
];
const FORMS = [
  (t: string) => `Can you tell me about ${t}?`,
  (t: string) => `I need details on ${t}, please.`,
  (t: string) => `Quick question regarding ${t}.`,
];
/** Other words for the first 8 distinct questions. */
const PARAPHRASES = [
  'Could you tell me about the refund policy for unused licences?',
  'Can you please tell me when invoices are sent?',
  'Can you tell me what your support hours are?',
  'Can you tell me about what the enterprise plan includes?',
  'Can you tell me where my data gets stored?',
  'Can you tell me how adding seats gets billed?',
  'Can you tell me about paying invoices in US dollar?',
  'Can you tell me about the response time of the enterprise support?',
];

function script(): string[] {
  const distinct = FORMS.flatMap((form) => TOPICS.map(form));
  const padded = distinct.map((q, i) =>
    i % 4 === 3 ? `${q.replaceAll(' ', '   ')}\n\n\n\n\nThanks!` : q,
  );
  return [...padded, ...padded.slice(0, 8), ...PARAPHRASES];
}

/** The fake provider: answers every question, and bills cached prefix tokens as OpenAI does. */
function startProvider(): Promise<{ url: string; close(): Promise<void> }> {
  const seen = new Set<string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
      const messages = body.messages as { role: string; content: string }[];
      const prefix = [messages.filter((m) => m.role === 'system'), body.tools ?? null];
      const prefixText = JSON.stringify(prefix);
      const prefixTokens = countTokens(prefixText, MODEL);
      const cacheId = createHash('sha256')
        .update(`${String(body.prompt_cache_key ?? '')}\u0000${prefixText}`)
        .digest('hex');
      const cached =
        seen.has(cacheId) && prefixTokens >= 1024 ? Math.floor(prefixTokens / 128) * 128 : 0;
      seen.add(cacheId);
      const promptTokens = Math.max(
        cached,
        countPromptTokens(messages, MODEL) + countTokens(JSON.stringify(body.tools ?? ''), MODEL),
      );
      const answer = 'Per policy 1, unused licences can be refunded within 30 days of purchase.';
      const completionTokens = countTokens(answer, MODEL);
      const out = JSON.stringify({
        id: `chatcmpl-${cacheId.slice(0, 24)}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: 'gpt-4.1-2025-04-14',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: answer, refusal: null },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
          prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
        },
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(out);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

async function main(): Promise<void> {
  const provider = await startProvider();
  const env = {
    DATABASE_URL: 'memory://',
    TOLLGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-bench-savings-')),
    UPSTREAM_BASE_URL: provider.url,
    UPSTREAM_API_KEY: 'sk-bench',
    LOG_LEVEL: 'silent',
  };
  const config = loadConfig(env);
  const deps = await openDeps(config, env, { logger: createLogger('silent') });
  const app = createApp(deps);
  try {
    const { key } = await createKey(deps.database.db, {
      name: 'bench',
      scopes: ['chat', 'analytics:read'],
    });
    const statuses = new Map<string, number>();
    for (const question of script()) {
      const res = await app.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: MODEL,
          messages: [
            { role: 'system', content: SYSTEM_PROMPT },
            { role: 'user', content: question },
          ],
          tools: TOOLS,
        }),
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      await res.text();
      const cache = res.headers.get('x-tollgate-cache') ?? 'none';
      statuses.set(cache, (statuses.get(cache) ?? 0) + 1);
      // Each answer is stored and recorded before the next question, as on a quiet day.
      await deps.background.drain();
    }
    await deps.writer.flush();
    const res = await app.request('/analytics/summary?group_by=day', {
      headers: { authorization: `Bearer ${key}` },
    });
    const summary = (await res.json()) as {
      prices_as_of: string;
      totals: {
        requests: number;
        prompt_tokens: number;
        completion_tokens: number;
        estimated_cost_usd: number;
        unpriced_requests: number;
        savings: Record<string, { requests?: number; tokens: number; usd: number }> & {
          total_usd: number;
        };
      };
    };
    const t = summary.totals;
    console.log(
      `requests: ${t.requests} (${[...statuses].map(([k, n]) => `${k} ${n}`).join(', ')})`,
    );
    console.log(
      `billed: ${t.prompt_tokens} prompt + ${t.completion_tokens} completion tokens, $${t.estimated_cost_usd.toFixed(6)} at prices of ${summary.prices_as_of}, ${t.unpriced_requests} unpriced`,
    );
    console.log('| kind | requests | tokens saved | USD saved |');
    console.log('|---|---|---|---|');
    for (const kind of ['exact_cache', 'semantic_cache', 'compression', 'provider_cache']) {
      const k = t.savings[kind];
      if (!k) continue;
      console.log(`| ${kind} | ${k.requests ?? '–'} | ${k.tokens} | ${k.usd.toFixed(6)} |`);
    }
    console.log(`| total | | | ${t.savings.total_usd.toFixed(6)} |`);
  } finally {
    await deps.close();
    await provider.close();
  }
}

await main();

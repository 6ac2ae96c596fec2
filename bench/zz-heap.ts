import { fork } from 'node:child_process';
import { Session } from 'node:inspector';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runLoad } from './lib/load.js';
import { newQuestionBodies, REQUEST_BODIES } from './lib/questions.js';

const up = fork(new URL('./lib/fake-upstream-server.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'] });
const upPort: number = await new Promise((res) => up.on('message', (m: any) => m.type === 'ready' && res(m.port)));
Object.assign(process.env, {
  PORT: '0', HOST: '127.0.0.1', TOLLGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'hp-')), TOLLGATE_MASTER_KEYS: `b:${randomBytes(32).toString('base64')}`,
  LOG_LEVEL: 'warn', UPSTREAM_BASE_URL: `http://127.0.0.1:${upPort}/v1`, UPSTREAM_API_KEY: 'sk-bench-upstream-key', CACHE: process.env.HP_CACHE ?? 'on',
});
const { loadConfig } = await import('../src/config.js');
const { openDeps } = await import('../src/deps.js');
const { createKey } = await import('../src/keys/key-admin.js');
const { startServer } = await import('../src/main.js');
const deps = await openDeps(loadConfig(process.env), process.env, { upstreamHttp: 'pooled' });
const { key } = await createKey(deps.database.db, { name: 'b' });
const server = await startServer(deps);
const spec = (n: number) => ({ url: `http://127.0.0.1:${server.port}/v1/chat/completions`, body: REQUEST_BODIES.json, bodyFor: process.env.HP_MISS ? newQuestionBodies(REQUEST_BODIES.json) : undefined, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, connections: 32, until: { amount: n } });
await runLoad(spec(3000));
const s = new Session(); s.connect();
const post = (m: string, p: object = {}) => new Promise<any>((res, rej) => s.post(m as any, p, (e: any, r: any) => (e ? rej(e) : res(r))));
await post('HeapProfiler.enable');
await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const N = 2000;
await runLoad(spec(N));
const { profile } = await post('HeapProfiler.stopSampling');
writeFileSync('/tmp/mb/heap.json', JSON.stringify(profile));
// summarize
const self = new Map<string, number>(); let total = 0;
const walk = (n: any, stack: string[]) => { const f = n.callFrame; const k = `${f.functionName || '(anon)'} ${f.url.replace(/.*\//, '')}:${f.lineNumber + 1}`; const sz = n.selfSize; total += sz; self.set(k, (self.get(k) ?? 0) + sz); for (const c of n.children) walk(c, stack); };
walk(profile.head, []);
console.log('KB per request (sampled, all incl. collected):', (total / N / 1024).toFixed(1));
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 45)) console.log((v / N / 1024).toFixed(2).padStart(7), k);
await server.stop(); up.kill(); process.exit(0);

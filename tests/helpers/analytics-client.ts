import type { Deps } from '../../src/deps.js';
import { openDatabase } from '../../src/storage/database.js';
import type { TestApp } from './test-app.js';
import { createTestApp } from './test-app.js';
import type { TestDatabaseTarget } from './test-database.js';

/** One interaction row as the API returns it. */
export type RowJson = Record<string, string | number | boolean | null> & { id: string };

/** The bodies the analytics routes answer with (as far as tests read them). */
export interface AnalyticsBody {
  object?: string;
  data?: RowJson[];
  has_more?: boolean;
  next_cursor?: string | null;
  content?: { request: unknown; response: unknown } | null;
  content_status?: string;
  error?: { message: string; code: string | null; type: string; param?: string | null };
  [field: string]: unknown;
}

/** A JSON answer from the gateway, with the raw text for assertion messages. */
export interface JsonAnswer<T = AnalyticsBody> {
  status: number;
  body: T;
  text: string;
}

/** GETs a path with a bearer key and parses the JSON body. */
export async function getJson<T = AnalyticsBody>(
  gateway: TestApp,
  path: string,
  key: string,
): Promise<JsonAnswer<T>> {
  const res = await gateway.request(path, {
    headers: { authorization: `Bearer ${key}` },
  });
  const text = await res.text();
  let body: unknown = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = {};
  }
  return { status: res.status, body: body as T, text };
}

/** Builds the app in process on a driver's database (PGlite in memory, or a fresh PostgreSQL database). */
export async function startAnalyticsGateway(
  target: TestDatabaseTarget,
  env: Record<string, string> = {},
  overrides: Parameters<typeof createTestApp>[1] = {},
): Promise<{ gateway: TestApp; deps: Deps }> {
  const database =
    target.target.kind === 'postgres' ? await openDatabase(target.target) : undefined;
  const gateway = await createTestApp(env, { database, ...overrides });
  return { gateway, deps: gateway.deps };
}

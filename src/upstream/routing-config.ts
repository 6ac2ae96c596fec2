import { z } from 'zod';
import type { UpstreamEndpoint } from './upstream.js';

const upstreamSchema = z.strictObject({
  baseURL: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL'),
  apiKey: z.string().optional(),
  apiKeyEnv: z.string().optional(),
});

const targetSchema = z.union([
  z.string().min(1),
  z.strictObject({ upstream: z.string().min(1), model: z.string().min(1).optional() }),
]);

const fileSchema = z.strictObject({
  upstreams: z.record(z.string().min(1), upstreamSchema),
  models: z.record(z.string().min(1), z.array(targetSchema).min(1)).optional(),
});

/** One configured upstream provider. */
export interface UpstreamSpec {
  name: string;
  baseURL: string;
  apiKey: string | undefined;
}

/** Where a model is sent: an upstream and the model name it knows it by. */
export interface RouteTarget {
  upstream: string;
  /** null = the model name the client asked for. */
  model: string | null;
}

/** The routing table: upstreams, and per model the ordered targets (first = primary). */
export interface RoutingTable {
  upstreams: UpstreamSpec[];
  /** Explicit model routes; the key `*` matches every other model. Empty = all models, all upstreams. */
  models: Map<string, RouteTarget[]>;
}

/** The name of the upstream of UPSTREAM_BASE_URL, when no TOLLGATE_CONFIG is given. */
export const DEFAULT_UPSTREAM = 'default';

/** The routing table when no TOLLGATE_CONFIG is given: one upstream serving every model. */
export function defaultRouting(baseURL: string, apiKey: string | undefined): RoutingTable {
  return { upstreams: [{ name: DEFAULT_UPSTREAM, baseURL, apiKey }], models: new Map() };
}

/**
 * Where an upstream is reached, as OpenTelemetry names it: the upstream of UPSTREAM_BASE_URL is
 * `openai` (the API it is spoken to in, as the GenAI conventions name an OpenAI-compatible server
 * reached through OpenAI's client), a configured one its own name.
 */
export function endpointOf(spec: UpstreamSpec): UpstreamEndpoint {
  const url = new URL(spec.baseURL);
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  return {
    genAiProvider: spec.name === DEFAULT_UPSTREAM ? 'openai' : spec.name,
    // An IPv6 host without its URL brackets, as `server.address` has it.
    address: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? defaultPort : Number(url.port),
  };
}

/**
 * Why a routing file is not JSON, without its text: the engine's message can quote the text
 * around the error, an upstream's `apiKey` among it. The reason and its line and column are kept.
 */
function jsonProblem(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  const at = /^(.+) in JSON at position (\d+)/.exec(message);
  if (at?.[1] && at[2]) {
    const lines = text.slice(0, Number(at[2])).split('\n');
    return `${at[1]} at line ${lines.length}, column ${(lines.at(-1)?.length ?? 0) + 1}`;
  }
  return message === 'Unexpected end of JSON input' ? message : 'an unexpected token';
}

/**
 * Parses a TOLLGATE_CONFIG file's text. `apiKeyEnv` names an environment variable holding the
 * upstream's key, so the file itself need not contain secrets.
 */
export function parseRoutingConfig(
  text: string,
  env: Record<string, string | undefined>,
): RoutingTable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`TOLLGATE_CONFIG is not valid JSON: ${jsonProblem(text, err)}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.join('.') || '(root)'}: ${i.message}`,
    );
    throw new Error(`TOLLGATE_CONFIG is invalid: ${problems.join('; ')}`);
  }
  const upstreams: UpstreamSpec[] = Object.entries(parsed.data.upstreams).map(([name, u]) => ({
    name,
    baseURL: u.baseURL.replace(/\/+$/, ''),
    apiKey: u.apiKey ?? (u.apiKeyEnv ? env[u.apiKeyEnv] : undefined),
  }));
  if (upstreams.length === 0) throw new Error('TOLLGATE_CONFIG is invalid: no upstreams');
  const names = new Set(upstreams.map((u) => u.name));
  const models = new Map<string, RouteTarget[]>();
  for (const [model, targets] of Object.entries(parsed.data.models ?? {})) {
    models.set(
      model,
      targets.map((t) => {
        const target =
          typeof t === 'string'
            ? { upstream: t, model: null }
            : { upstream: t.upstream, model: t.model ?? null };
        if (!names.has(target.upstream)) {
          throw new Error(
            `TOLLGATE_CONFIG is invalid: models.${model} names unknown upstream '${target.upstream}'`,
          );
        }
        return target;
      }),
    );
  }
  return { upstreams, models };
}

/** The ordered targets for a model, or null when the routing table does not serve it. */
export function routeModel(table: RoutingTable, model: string): RouteTarget[] | null {
  const explicit = table.models.get(model) ?? table.models.get('*');
  if (explicit) return explicit;
  if (table.models.size > 0) return null;
  return table.upstreams.map((u) => ({ upstream: u.name, model: null }));
}

/** Every model name the table routes explicitly (aliases included), never the `*` catch-all. */
export function namedModels(table: RoutingTable): string[] {
  return [...table.models.keys()].filter((model) => model !== '*');
}

/** The model names the table routes explicitly (for /v1/models), or null when it serves any model. */
export function listedModels(table: RoutingTable): string[] | null {
  if (table.models.size === 0 || table.models.has('*')) return null;
  return [...table.models.keys()];
}

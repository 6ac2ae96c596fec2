import { isRecord } from './is-record.js';

const KEY = 'tollgate.analyticsKey';

/** A refusal or failure of the gateway's API, with its HTTP status. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The analytics key, kept in this tab only (sessionStorage). */
export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  remember: (key: string): void => sessionStorage.setItem(KEY, key),
  forget: (): void => sessionStorage.removeItem(KEY),
};

/** The message of an OpenAI-shaped error body, if it is one. */
function errorMessage(body: unknown): string | undefined {
  if (!isRecord(body) || !isRecord(body.error)) return undefined;
  return typeof body.error.message === 'string' ? body.error.message : undefined;
}

/** Calls the API with the key in the Authorization header (never in a URL). */
export async function call(path: string): Promise<Response> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${session.key() ?? ''}` } });
  if (!res.ok) {
    const body: unknown = await res.json().catch(() => undefined);
    throw new ApiError(errorMessage(body) ?? `HTTP ${res.status}`, res.status);
  }
  return res;
}

/**
 * GETs a JSON body. The gateway is trusted to answer in the shape its API documents, so the body is
 * typed, not validated.
 */
export async function getJson<T>(path: string): Promise<T> {
  const res = await call(path);
  return (await res.json()) as T;
}

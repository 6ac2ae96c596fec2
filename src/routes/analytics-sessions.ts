import { Hono } from 'hono';
import { batchContentReader } from '../analytics/content-reader.js';
import {
  decodeCursor,
  decodeSessionCursor,
  encodeCursor,
  encodeSessionCursor,
} from '../analytics/cursor.js';
import type { ExportContent } from '../analytics/export-stream.js';
import type { InteractionJson } from '../analytics/interaction-json.js';
import { interactionJson } from '../analytics/interaction-json.js';
import { priceRows } from '../analytics/prices.js';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import type { VerifiedKey } from '../keys/key-verifier.js';
import { parseIsoTime } from '../runtime/iso-time.js';
import type { InteractionFilter } from '../storage/queries/analytics-filter.js';
import type {
  InteractionMetadata,
  InteractionPosition,
} from '../storage/queries/analytics-interactions.js';
import {
  listInteractionPage,
  listInteractionPageWithContent,
} from '../storage/queries/analytics-interactions.js';
import type { SessionSummary } from '../storage/queries/analytics-sessions.js';
import { listSessionPage } from '../storage/queries/analytics-sessions.js';
import { isSessionId } from '../storage/session-id.js';
import { contentReadEvent, recordContentReads } from './analytics-audit.js';
import { sessionJson } from './analytics-json.js';
import {
  canReadContent,
  PAGE_PARAMS,
  parseFilter,
  parseLimit,
  routeQuery,
} from './analytics-params.js';

type ThreadEntry = InteractionJson & {
  content?: { request: unknown; response: unknown } | null;
  content_status?: ExportContent['status'];
};

function earlier(a: Date | undefined, b: Date): Date {
  return a !== undefined && a < b ? a : b;
}

/** The first millisecond after a time the database wrote (to is exclusive; it keeps microseconds). */
function justAfter(text: string): Date {
  return new Date((parseIsoTime(text)?.getTime() ?? Number.NaN) + 1);
}

function cursorError(): GatewayError {
  return GatewayError.invalidRequest("'cursor' is not valid.", 'cursor');
}

/**
 * The one session the filter names: 404 when it has no matching interaction; 400 when an admin
 * reading every tenant names an id two tenants use (tenant_id chooses).
 */
async function findSession(deps: Deps, filter: InteractionFilter): Promise<SessionSummary> {
  const { rows } = await listSessionPage(
    deps.database.db,
    filter,
    { limit: 2 },
    priceRows(deps.prices),
  );
  const [session, another] = rows;
  if (!session) throw GatewayError.notFound(`No session with id '${filter.sessionId}'.`);
  if (another) {
    throw GatewayError.invalidRequest(
      `Session '${filter.sessionId}' exists in several tenants; choose one with 'tenant_id'.`,
      'tenant_id',
    );
  }
  return session;
}

function withContent(row: InteractionMetadata, content: ExportContent): ThreadEntry {
  return {
    ...interactionJson(row),
    content:
      content.status === 'tenant_forgotten'
        ? null
        : { request: content.request, response: content.response },
    content_status: content.status,
  };
}

/** One page of a session's interactions in order, decrypted (and audited) when the key may read them. */
async function threadPage(
  deps: Deps,
  key: VerifiedKey,
  filter: InteractionFilter,
  page: { limit: number; after: InteractionPosition | undefined },
) {
  const db = deps.database.db;
  const request = { limit: page.limit, order: 'asc' as const, after: page.after };
  if (!canReadContent(key)) {
    const metadata = await listInteractionPage(db, filter, request);
    return { ...metadata, entries: metadata.rows.map((r): ThreadEntry => interactionJson(r)) };
  }
  const sealed = await listInteractionPageWithContent(db, filter, request);
  const contents = await batchContentReader(deps.tenantKeys)(sealed.rows);
  await recordContentReads(
    deps,
    sealed.rows.map((row, i) => contentReadEvent(key, row, contents[i]?.status ?? 'no_content')),
  );
  const entries = sealed.rows.map(({ requestEnc: _r, responseEnc: _s, ...row }, i) =>
    withContent(row, contents[i] ?? { request: null, response: null, status: 'no_content' }),
  );
  return { rows: sealed.rows, hasMore: sealed.hasMore, entries };
}

/** GET /analytics/sessions (most recently active first) and /analytics/sessions/:id (a thread). */
export function analyticsSessionRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();

  app.get('/sessions', async (c) => {
    const query = routeQuery(c.req.queries(), PAGE_PARAMS);
    const asked = await parseFilter(query, c.get('apiKey'), deps.database.db);
    const after = query.cursor ? decodeSessionCursor(query.cursor) : undefined;
    if (after === null) throw cursorError();
    // Later pages read the interactions up to the first page's latest activity only.
    const filter = after ? { ...asked, to: earlier(asked.to, justAfter(after.asOf)) } : asked;
    const page = await listSessionPage(
      deps.database.db,
      filter,
      { limit: parseLimit(query), after },
      priceRows(deps.prices),
    );
    const last = page.rows.at(-1);
    const asOf = after?.asOf ?? page.rows[0]?.position.lastAt;
    return c.json({
      object: 'list',
      data: page.rows.map(sessionJson),
      has_more: page.hasMore,
      next_cursor:
        page.hasMore && last && asOf ? encodeSessionCursor({ ...last.position, asOf }) : null,
    });
  });

  app.get('/sessions/:id', async (c) => {
    const key = c.get('apiKey');
    const id = c.req.param('id');
    if (!isSessionId(id)) {
      throw GatewayError.invalidRequest(
        "A session id is 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'.",
        'id',
      );
    }
    const query = routeQuery(c.req.queries(), PAGE_PARAMS);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    if (after === null) throw cursorError();
    const limit = parseLimit(query);
    const asked = { ...(await parseFilter(query, key, deps.database.db)), sessionId: id };
    const session = await findSession(deps, asked);
    // The thread reads the one tenant the session was found in (an admin may read every tenant).
    const filter = { ...asked, tenantId: session.tenantId };
    const page = await threadPage(deps, key, filter, { limit, after });
    const last = page.rows.at(-1);
    return c.json({
      ...sessionJson(session),
      data: page.entries,
      has_more: page.hasMore,
      next_cursor: page.hasMore && last ? encodeCursor(last.position) : null,
    });
  });

  return app;
}

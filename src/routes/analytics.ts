import { Hono } from 'hono';
import { batchContentReader, readContent } from '../analytics/content-reader.js';
import { decodeCursor, encodeCursor } from '../analytics/cursor.js';
import type { ExportFormat } from '../analytics/export-stream.js';
import { exportStream } from '../analytics/export-stream.js';
import { interactionJson } from '../analytics/interaction-json.js';
import { priceRows } from '../analytics/prices.js';
import type { Deps } from '../deps.js';
import type { AppEnv } from '../http/env.js';
import { GatewayError } from '../http/errors.js';
import type { VerifiedKey } from '../keys/key-verifier.js';
import { requireKey } from '../pipeline/auth.js';
import { databaseReady } from '../pipeline/database-ready.js';
import { plainUrl } from '../pipeline/plain-url.js';
import { isUuid } from '../runtime/uuidv7.js';
import type { InteractionFilter } from '../storage/queries/analytics-filter.js';
import type { InteractionWithContent } from '../storage/queries/analytics-interactions.js';
import {
  findInteractionForTenant,
  listInteractionPage,
  listInteractionPageWithContent,
} from '../storage/queries/analytics-interactions.js';
import { SUMMARY_GROUPS, summarizeInteractions } from '../storage/queries/analytics-summary.js';
import { insertAudit } from '../storage/queries/audit-log.js';
import { contentReadEvent, recordContentReads } from './analytics-audit.js';
import { summaryJson } from './analytics-json.js';
import {
  CONTENT_SCOPE,
  canReadContent,
  filterDetails,
  PAGE_PARAMS,
  parseChoice,
  parseFilter,
  parseLimit,
  routeQuery,
} from './analytics-params.js';
import { analyticsSessionRoutes } from './analytics-sessions.js';

const EXPORT_BATCH_ROWS = 1_000;

/**
 * Analysts' API: interaction log (paged), one interaction, aggregates, streamed exports, and
 * sessions (listed, and one as a thread).
 */
export function analyticsRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  const db = deps.database.db;
  app.use('*', requireKey(deps, 'analytics:read', CONTENT_SCOPE, 'admin'));
  app.use('*', plainUrl());
  app.use('*', databaseReady(deps));
  app.route('/', analyticsSessionRoutes(deps));

  app.get('/interactions', async (c) => {
    const query = routeQuery(c.req.queries(), PAGE_PARAMS);
    const filter = await parseFilter(query, c.get('apiKey'), db);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    if (after === null) throw GatewayError.invalidRequest("'cursor' is not valid.", 'cursor');
    const page = await listInteractionPage(db, filter, {
      limit: parseLimit(query),
      order: 'desc',
      after,
    });
    const last = page.rows.at(-1);
    return c.json({
      object: 'list',
      data: page.rows.map(interactionJson),
      has_more: page.hasMore,
      next_cursor: page.hasMore && last ? encodeCursor(last.position) : null,
    });
  });

  app.get('/interactions/:id', async (c) => {
    const key = c.get('apiKey');
    const id = c.req.param('id');
    routeQuery(c.req.queries(), [], false);
    const notFound = GatewayError.notFound(`No interaction with id '${id}'.`);
    if (!isUuid(id)) throw notFound;
    const tenantId = key.scopes.includes('admin') ? null : key.tenantId;
    const row = await findInteractionForTenant(db, id, tenantId);
    if (!row) throw notFound;
    const { requestEnc, responseEnc, ...metadata } = row;
    const body = interactionJson({
      ...metadata,
      hasContent: requestEnc !== null || responseEnc !== null,
    });
    if (!canReadContent(key)) return c.json({ object: 'analytics.interaction', ...body });
    const content = await readContent(deps.tenantKeys, row);
    await recordContentReads(deps, [contentReadEvent(key, row, content.status)]);
    return c.json({
      object: 'analytics.interaction',
      ...body,
      content:
        content.status === 'tenant_forgotten'
          ? null
          : { request: content.request, response: content.response },
      content_status: content.status,
    });
  });

  app.get('/summary', async (c) => {
    const query = routeQuery(c.req.queries(), ['group_by']);
    const filter = await parseFilter(query, c.get('apiKey'), db);
    const groupBy = parseChoice(query, 'group_by', SUMMARY_GROUPS, 'day');
    const summary = await summarizeInteractions(db, filter, groupBy, priceRows(deps.prices));
    return c.json(summaryJson(summary, groupBy, filterDetails(filter), deps.prices));
  });

  app.get('/export', async (c) => {
    const key = c.get('apiKey');
    const query = routeQuery(c.req.queries(), ['format']);
    const filter = await parseFilter(query, key, db);
    const format = parseChoice<ExportFormat>(query, 'format', ['csv', 'ndjson'], 'csv');
    const withContent = canReadContent(key);
    await auditExport(deps, key, filter, format, withContent);
    const page = { limit: EXPORT_BATCH_ROWS, order: 'asc' as const };
    const stream = await (withContent
      ? exportStream<InteractionWithContent>(
          {
            nextBatch: (after) => listInteractionPageWithContent(db, filter, { ...page, after }),
            content: batchContentReader(deps.tenantKeys),
          },
          format,
        )
      : exportStream(
          { nextBatch: (after) => listInteractionPage(db, filter, { ...page, after }) },
          format,
        ));
    const stamp = new Date(deps.clock.now()).toISOString().replace(/[:.]/g, '-');
    c.header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
    c.header('content-disposition', `attachment; filename="interactions-${stamp}.${format}"`);
    c.header('cache-control', 'no-store');
    return c.body(stream);
  });

  return app;
}

async function auditExport(
  deps: Deps,
  key: VerifiedKey,
  filter: InteractionFilter,
  format: ExportFormat,
  withContent: boolean,
): Promise<void> {
  const at = new Date(deps.clock.now());
  const details = { ...filterDetails(filter), format, with_content: withContent };
  const event = { actor: key.id, tenantId: filter.tenantId, targetType: 'interactions', details };
  await insertAudit(deps.database.db, { ...event, action: 'analytics.export' }, at);
  if (withContent) {
    await insertAudit(deps.database.db, { ...event, action: 'analytics.read_content' }, at);
  }
}

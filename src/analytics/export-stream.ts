import type {
  InteractionPage,
  InteractionPosition,
} from '../storage/queries/analytics-interactions.js';
import { csvRecord } from './csv.js';
import type { InteractionJson, InteractionMetadataSource } from './interaction-json.js';
import { INTERACTION_FIELDS, interactionJson } from './interaction-json.js';

/** Export file formats. */
export type ExportFormat = 'csv' | 'ndjson';

/** A row as the export reads it: metadata, and a position to continue from. */
export type ExportSourceRow = InteractionMetadataSource & { position: InteractionPosition };

/** The decrypted text of one row, or why there is none. */
export interface ExportContent {
  request: unknown;
  response: unknown;
  status: 'ok' | 'tenant_forgotten' | 'no_content';
}

/** What an export needs: a way to read the next batch after a position, and optionally the text. */
export interface ExportSource<R extends ExportSourceRow> {
  nextBatch(after: InteractionPosition | undefined): Promise<InteractionPage<R>>;
  /** Present only when the caller may read content: decrypts one batch's rows in order. */
  content?: (rows: readonly R[]) => Promise<ExportContent[]>;
}

const CONTENT_FIELDS = ['request', 'response', 'content_status'] as const;

/**
 * Streams every row of a source as CSV (header first) or NDJSON. The first batch is read before
 * the stream is returned, so a query that fails at once fails before any status or byte is sent.
 * Later batches are read one per pull, and pulls happen only when the consumer has taken what came
 * before, so memory stays bounded by one batch whatever the size of the export.
 */
export async function exportStream<R extends ExportSourceRow>(
  source: ExportSource<R>,
  format: ExportFormat,
): Promise<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder();
  let after: InteractionPosition | undefined;
  let done = false;
  const readBatch = async (): Promise<string> => {
    const page = await source.nextBatch(after);
    const contents = source.content ? await source.content(page.rows) : undefined;
    let out = '';
    page.rows.forEach((row, index) => {
      out += render(interactionJson(row), contents?.[index], format);
    });
    const last = page.rows.at(-1);
    if (last) after = last.position;
    if (!page.hasMore || !last) done = true;
    return out;
  };
  const header =
    format === 'csv'
      ? csvRecord([...INTERACTION_FIELDS, ...(source.content ? CONTENT_FIELDS : [])])
      : '';
  let pending: string | null = header + (await readBatch());
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const out = pending ?? (done ? '' : await readBatch());
        pending = null;
        if (out) controller.enqueue(encoder.encode(out));
        if (done) controller.close();
      },
    },
    { highWaterMark: 1 },
  );
}

function render(
  row: InteractionJson,
  content: ExportContent | undefined,
  format: ExportFormat,
): string {
  if (format === 'ndjson') {
    const record = content
      ? {
          ...row,
          request: content.request,
          response: content.response,
          content_status: content.status,
        }
      : row;
    return `${JSON.stringify(record)}\n`;
  }
  const values = INTERACTION_FIELDS.map((f) => row[f]);
  if (!content) return csvRecord(values);
  return csvRecord([
    ...values,
    content.request === null ? null : JSON.stringify(content.request),
    content.response === null ? null : JSON.stringify(content.response),
    content.status,
  ]);
}

import { call } from './api.js';
import { byId, el, messageOf } from './dom.js';
import { filterQuery } from './filters.js';

function fileName(res: Response, format: string): string {
  const match = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '');
  return match?.[1] ?? `interactions.${format}`;
}

/**
 * Downloads the filtered log through GET /analytics/export. The key goes in the Authorization
 * header, so the file is fetched here and handed to the browser as a blob (a link would need the
 * key in its URL).
 */
export async function exportLog(format: 'csv' | 'ndjson'): Promise<void> {
  const status = byId('export-status', HTMLSpanElement);
  status.textContent = `Exporting ${format.toUpperCase()}…`;
  try {
    const q = filterQuery();
    q.set('format', format);
    const res = await call(`/analytics/export?${q}`);
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: fileName(res, format), hidden: '' });
    document.body.append(link);
    link.click();
    link.remove();
    // The download has taken the blob by the next task; keeping the URL longer only holds memory.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status.textContent = `Exported ${fileName(res, format)} (${blob.size} bytes)`;
  } catch (err) {
    status.textContent = `Export failed: ${messageOf(err)}`;
  }
}

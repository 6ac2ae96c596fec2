/**
 * The analysts' page (served as /dashboard/app.js): asks for a key, keeps it in this tab only, and
 * draws the analytics API's numbers. uPlot is loaded by the page before this module.
 */
import { ApiError, getJson, session } from './api.js';
import { drawCharts } from './charts.js';
import { byId, messageOf } from './dom.js';
import { filterQuery } from './filters.js';
import { loadLog, resetLog, stepLog } from './log-table.js';
import { drawTiles } from './tiles.js';
import type { Summary } from './types.js';

const appError = byId('app-error', HTMLParagraphElement);

function showError(err: unknown): void {
  appError.textContent = messageOf(err);
}

function showLogin(message: string): void {
  session.forget();
  byId('app', HTMLElement).hidden = true;
  byId('logout', HTMLButtonElement).hidden = true;
  byId('login', HTMLDivElement).hidden = false;
  byId('login-error', HTMLParagraphElement).textContent = message;
}

async function refresh(): Promise<void> {
  appError.textContent = '';
  try {
    const summary = await getJson<Summary>(`/analytics/summary?${filterQuery(true)}`);
    drawTiles(summary.totals);
    drawCharts(summary);
    await loadLog();
    document.body.dataset.ready = 'true';
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      showLogin(err.message);
    } else {
      showError(err);
    }
  }
}

function showApp(): void {
  byId('login', HTMLDivElement).hidden = true;
  byId('app', HTMLElement).hidden = false;
  byId('logout', HTMLButtonElement).hidden = false;
  resetLog();
  void refresh();
}

byId('login-form', HTMLFormElement).addEventListener('submit', (e) => {
  e.preventDefault();
  const input = byId('key', HTMLInputElement);
  session.remember(input.value.trim());
  input.value = '';
  showApp();
});
byId('logout', HTMLButtonElement).addEventListener('click', () => showLogin(''));
byId('filters', HTMLFormElement).addEventListener('submit', (e) => {
  e.preventDefault();
  resetLog();
  void refresh();
});
byId('older', HTMLButtonElement).addEventListener('click', () => stepLog(1).catch(showError));
byId('newer', HTMLButtonElement).addEventListener('click', () => stepLog(-1).catch(showError));
byId('detail-close', HTMLButtonElement).addEventListener('click', () => {
  byId('detail', HTMLElement).hidden = true;
});
if (session.key()) showApp();
else showLogin('');

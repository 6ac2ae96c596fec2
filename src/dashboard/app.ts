/**
 * The analysts' page (served as /dashboard/app.js): asks for a key, keeps it in this tab only, and
 * draws the analytics API's numbers. uPlot is loaded by the page before this module.
 */
import type { Access } from './access.js';
import { loadAccess } from './access.js';
import { ApiError, session } from './api.js';
import { drawBreakdowns } from './breakdowns.js';
import { drawCharts } from './charts.js';
import { byId, messageOf } from './dom.js';
import { exportLog } from './export.js';
import { chosenStep, filterQuery } from './filters.js';
import { loadLog, resetLog, stepLog } from './log-table.js';
import { drawSavings } from './savings.js';
import { loadSessions, resetSessions, stepSessions } from './sessions.js';
import { closeThread } from './thread.js';
import { drawTiles } from './tiles.js';
import { toBuckets, utcLabel } from './time-series.js';
import { timeSummary } from './time-summary.js';

const appError = byId('app-error', HTMLParagraphElement);
let access: Access = { isAdmin: false, keyNames: new Map() };
/** Which view the page shows: the overview (charts, breakdowns, log) or the sessions. */
let view: 'overview' | 'sessions' = 'overview';

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

async function draw(): Promise<void> {
  const q = filterQuery();
  const { summary, step } = await timeSummary(q, chosenStep());
  const buckets = toBuckets(summary.data, step, q.get('from'), q.get('to'));
  drawTiles(summary);
  drawSavings(summary);
  drawCharts(buckets);
  byId('axis-note', HTMLParagraphElement).textContent =
    buckets.starts.length === 0
      ? 'No requests match these filters.'
      : `Per ${step}, ${utcLabel(buckets.start)} – ${utcLabel(buckets.end)}`;
  await Promise.all([drawBreakdowns(q, access, apply), loadLog(access)]);
}

async function refresh(): Promise<void> {
  appError.textContent = '';
  delete document.body.dataset.ready;
  try {
    await (view === 'sessions' ? loadSessions(access) : draw());
    document.body.dataset.ready = 'true';
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      showLogin(err.message);
    } else {
      showError(err);
    }
  }
}

function apply(): void {
  resetLog();
  resetSessions();
  closeThread();
  void refresh();
}

function show(next: 'overview' | 'sessions'): void {
  view = next;
  byId('overview', HTMLDivElement).hidden = next !== 'overview';
  byId('sessions', HTMLElement).hidden = next !== 'sessions';
  byId('view-overview', HTMLButtonElement).setAttribute(
    'aria-pressed',
    String(next === 'overview'),
  );
  byId('view-sessions', HTMLButtonElement).setAttribute(
    'aria-pressed',
    String(next === 'sessions'),
  );
  apply();
}

async function showApp(): Promise<void> {
  byId('login', HTMLDivElement).hidden = true;
  byId('app', HTMLElement).hidden = false;
  byId('logout', HTMLButtonElement).hidden = false;
  try {
    access = await loadAccess();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      return showLogin(err.message);
    }
    showError(err);
  }
  apply();
}

byId('login-form', HTMLFormElement).addEventListener('submit', (e) => {
  e.preventDefault();
  const input = byId('key', HTMLInputElement);
  session.remember(input.value.trim());
  input.value = '';
  void showApp();
});
byId('logout', HTMLButtonElement).addEventListener('click', () => showLogin(''));
byId('filters', HTMLFormElement).addEventListener('submit', (e) => {
  e.preventDefault();
  apply();
});
byId('tenant', HTMLSelectElement).addEventListener('change', apply);
byId('per', HTMLSelectElement).addEventListener('change', apply);
byId('export-csv', HTMLButtonElement).addEventListener('click', () => void exportLog('csv'));
byId('export-ndjson', HTMLButtonElement).addEventListener('click', () => void exportLog('ndjson'));
byId('older', HTMLButtonElement).addEventListener('click', () =>
  stepLog(1, access).catch(showError),
);
byId('newer', HTMLButtonElement).addEventListener('click', () =>
  stepLog(-1, access).catch(showError),
);
byId('view-overview', HTMLButtonElement).addEventListener('click', () => show('overview'));
byId('view-sessions', HTMLButtonElement).addEventListener('click', () => show('sessions'));
byId('sessions-older', HTMLButtonElement).addEventListener('click', () =>
  stepSessions(1, access).catch(showError),
);
byId('sessions-newer', HTMLButtonElement).addEventListener('click', () =>
  stepSessions(-1, access).catch(showError),
);
byId('detail-close', HTMLButtonElement).addEventListener('click', () => {
  byId('detail', HTMLElement).hidden = true;
});
if (session.key()) void showApp();
else showLogin('');

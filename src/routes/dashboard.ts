import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Hono } from 'hono';
import { DASHBOARD_HTML } from '../dashboard/dashboard-page.js';
import { DASHBOARD_SCRIPT } from '../dashboard/dashboard-script.js';
import type { AppEnv } from '../http/env.js';

const require = createRequire(import.meta.url);

/** A file of the uplot package, read once (the gateway serves it: the page needs no CDN). */
function uplotAsset(file: string): () => string {
  let text: string | undefined;
  return () => {
    text ??= readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
    return text;
  };
}

const UPLOT_JS = uplotAsset('uPlot.iife.min.js');
const UPLOT_CSS = uplotAsset('uPlot.min.css');

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The analysts' web page and its assets. The page asks for a key; the API enforces it. */
export function dashboardRoutes() {
  const app = new Hono<AppEnv>();
  const routes: [string, () => string, string, string][] = [
    ['/', () => DASHBOARD_HTML, 'text/html; charset=utf-8', 'no-cache'],
    ['/app.js', () => DASHBOARD_SCRIPT, 'text/javascript; charset=utf-8', 'no-cache'],
    ['/assets/uplot.js', UPLOT_JS, 'text/javascript; charset=utf-8', 'public, max-age=86400'],
    ['/assets/uplot.css', UPLOT_CSS, 'text/css; charset=utf-8', 'public, max-age=86400'],
  ];
  for (const [path, body, type, cache] of routes) {
    app.get(path, (c) =>
      c.body(body(), 200, { 'content-type': type, 'cache-control': cache, ...SECURITY_HEADERS }),
    );
  }
  return app;
}

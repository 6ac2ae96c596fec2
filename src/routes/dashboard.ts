import { Hono } from 'hono';
import type { AppEnv } from '../http/env.js';
import {
  browserModule,
  browserModules,
  dashboardHtml,
  lazyAsset,
  uplotFile,
} from './dashboard-assets.js';

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const JS = 'text/javascript; charset=utf-8';

/**
 * The analysts' web page and its assets: the page, its browser modules (app.js and what it
 * imports) and uPlot. The page asks for a key; the API enforces it.
 */
export function dashboardRoutes() {
  const app = new Hono<AppEnv>();
  const routes: [string, () => Promise<string>, string, string][] = [
    ['/', lazyAsset(dashboardHtml), 'text/html; charset=utf-8', 'no-cache'],
    [
      '/assets/uplot.js',
      lazyAsset(() => uplotFile('uPlot.iife.min.js')),
      JS,
      'public, max-age=86400',
    ],
    [
      '/assets/uplot.css',
      lazyAsset(() => uplotFile('uPlot.min.css')),
      'text/css; charset=utf-8',
      'public, max-age=86400',
    ],
  ];
  for (const name of browserModules()) {
    routes.push([`/${name}.js`, lazyAsset(() => browserModule(name)), JS, 'no-cache']);
  }
  for (const [path, body, type, cache] of routes) {
    app.get(path, async (c) =>
      c.body(await body(), 200, {
        'content-type': type,
        'cache-control': cache,
        ...SECURITY_HEADERS,
      }),
    );
  }
  return app;
}

import { describe, expect, it } from 'vitest';
import { dashboardRoutes } from '../../src/routes/dashboard.js';

const app = dashboardRoutes();

async function get(path: string) {
  const res = await app.request(path);
  return { res, text: await res.text() };
}

/** The relative modules a served module imports (`./x.js`). */
function importsOf(js: string): string[] {
  return [...js.matchAll(/\bfrom\s*'\.\/([a-z0-9-]+\.js)'/g)].map((m) => m[1] ?? '');
}

describe('the dashboard routes', () => {
  it('serve the page with its security headers, loading uPlot and the app module', async () => {
    const { res, text } = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(text).toContain('<script src="/dashboard/assets/uplot.js"></script>');
    expect(text).toContain('<script type="module" src="/dashboard/app.js"></script>');
  });

  it('serve app.js and every module it imports as JavaScript, types erased', async () => {
    const seen = new Set<string>();
    const queue = ['app.js'];
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      if (seen.has(file)) continue;
      seen.add(file);
      const { res, text } = await get(`/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(text, file).not.toMatch(/^\s*import type |\binterface \w+ \{/m);
      queue.push(...importsOf(text));
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  it('serve uPlot from the installed package and nothing outside the page', async () => {
    const js = await get('/assets/uplot.js');
    expect(js.res.status).toBe(200);
    expect(js.text).toContain('uPlot');
    expect((await get('/assets/uplot.css')).res.status).toBe(200);
    expect((await get('/index.html')).res.status).toBe(404);
    expect((await get('/../package.json')).res.status).toBe(404);
    expect((await get('/missing.js')).res.status).toBe(404);
  });
});

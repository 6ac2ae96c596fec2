/**
 * The analysts' page behaviour, served as /dashboard/app.js. Plain browser JavaScript: it keeps the
 * key in sessionStorage, calls the analytics API with it, draws charts with uPlot (served by the
 * gateway) and fills the log table. Data goes into the page as text only, never as markup.
 */
export const DASHBOARD_SCRIPT = `'use strict';
(() => {
  const KEY = 'tollgate.analyticsKey';
  const $ = (id) => document.getElementById(id);
  const state = { cursors: [null], page: 0, charts: [] };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
    return node;
  }

  async function api(path) {
    const res = await fetch(path, { headers: { authorization: 'Bearer ' + sessionStorage.getItem(KEY) } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = new Error((body.error && body.error.message) || ('HTTP ' + res.status));
      err.status = res.status;
      throw err;
    }
    return body;
  }

  function filterQuery(includeGroup) {
    const form = new FormData($('filters'));
    const q = new URLSearchParams();
    for (const [name, value] of form.entries()) {
      if (!value || (name === 'group_by' && !includeGroup)) continue;
      q.set(name, name === 'from' || name === 'to' ? new Date(value + 'Z').toISOString() : String(value));
    }
    return q;
  }

  const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
  const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 4 });
  const pct = (v) => fmt.format(v * 100) + ' %';
  const ms = (v) => (v == null ? '–' : fmt.format(v) + ' ms');

  function tiles(t) {
    const items = [
      ['Requests', fmt.format(t.requests)],
      ['Error rate', pct(t.error_rate)],
      ['Cache hit rate', pct(t.cache_hit_rate)],
      ['Tokens', fmt.format(t.prompt_tokens + t.completion_tokens)],
      ['Tokens saved', fmt.format(t.tokens_saved_cache + t.tokens_saved_compression)],
      ['Estimated cost', usd.format(t.estimated_cost_usd)],
      ['Estimated savings', usd.format(t.estimated_savings_usd)],
      ['Latency p50 / p95', ms(t.latency_p50_ms) + ' / ' + ms(t.latency_p95_ms)],
      ['TTFT p50 / p95', ms(t.ttft_p50_ms) + ' / ' + ms(t.ttft_p95_ms)],
    ];
    $('tiles').replaceChildren(...items.map(([k, v]) => el('div', { class: 'tile' }, el('div', { class: 'k' }, k), el('div', { class: 'v' }, v))));
  }

  function chart(id, xs, series) {
    const target = $(id);
    target.replaceChildren();
    const width = Math.max(300, target.clientWidth || 400);
    const opts = {
      width, height: 220,
      scales: { x: { time: true } },
      series: [{}].concat(series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: xs.length < 3 } }))),
      axes: [{}, { size: 60 }],
    };
    state.charts.push(new uPlot(opts, [xs].concat(series.map((s) => s.values)), target));
  }

  function charts(summary) {
    state.charts.forEach((c) => c.destroy());
    state.charts = [];
    const rows = summary.data;
    const xs = rows.map((r) => Date.parse(r.group) / 1000);
    const col = (f) => rows.map(f);
    chart('chart-requests', xs, [
      { label: 'requests', color: '#2f6fed', values: col((r) => r.requests) },
      { label: 'errors', color: '#c4320a', values: col((r) => r.errors) },
    ]);
    chart('chart-tokens', xs, [
      { label: 'prompt', color: '#2f6fed', values: col((r) => r.prompt_tokens) },
      { label: 'completion', color: '#7a5af8', values: col((r) => r.completion_tokens) },
      { label: 'saved', color: '#12b76a', values: col((r) => r.tokens_saved_cache + r.tokens_saved_compression) },
    ]);
    chart('chart-cost', xs, [
      { label: 'cost', color: '#f79009', values: col((r) => r.estimated_cost_usd) },
      { label: 'savings', color: '#12b76a', values: col((r) => r.estimated_savings_usd) },
    ]);
    chart('chart-latency', xs, [
      { label: 'p50', color: '#2f6fed', values: col((r) => r.latency_p50_ms) },
      { label: 'p95', color: '#c4320a', values: col((r) => r.latency_p95_ms) },
      { label: 'ttft p50', color: '#7a5af8', values: col((r) => r.ttft_p50_ms) },
    ]);
    chart('chart-rates', xs, [
      { label: 'cache hit %', color: '#12b76a', values: col((r) => r.cache_hit_rate * 100) },
      { label: 'error %', color: '#c4320a', values: col((r) => r.error_rate * 100) },
    ]);
  }

  async function loadLog() {
    const q = filterQuery(false);
    q.set('limit', '50');
    const cursor = state.cursors[state.page];
    if (cursor) q.set('cursor', cursor);
    const page = await api('/analytics/interactions?' + q);
    const body = $('log').tBodies[0];
    body.replaceChildren(...page.data.map((r) => {
      const tr = el('tr', { 'data-id': r.id },
        el('td', {}, r.created_at.replace('T', ' ').replace('Z', '')), el('td', {}, r.model),
        el('td', { class: r.status >= 400 ? 'bad' : '' }, r.status), el('td', {}, r.cache_status),
        el('td', {}, r.prompt_tokens), el('td', {}, r.completion_tokens),
        el('td', {}, fmt.format(r.latency_ms)), el('td', {}, r.end_user), el('td', {}, r.key_id));
      tr.addEventListener('click', () => openDetail(r.id));
      return tr;
    }));
    state.cursors[state.page + 1] = page.next_cursor;
    $('older').disabled = !page.has_more;
    $('newer').disabled = state.page === 0;
    $('page-info').textContent = 'Page ' + (state.page + 1) + ' · ' + page.data.length + ' rows';
  }

  function messageList(value) {
    const out = [];
    const messages = value && Array.isArray(value.messages) ? value.messages : null;
    const choices = value && Array.isArray(value.choices) ? value.choices : null;
    const text = (c) => (typeof c === 'string' ? c : JSON.stringify(c, null, 2));
    if (messages) for (const m of messages) out.push(el('div', { class: 'msg' }, el('b', {}, m.role), text(m.content)));
    if (choices) for (const c of choices) out.push(el('div', { class: 'msg' }, el('b', {}, 'assistant'), text(c.message ? c.message.content : c)));
    if (out.length === 0) out.push(el('pre', {}, JSON.stringify(value, null, 2)));
    return out;
  }

  async function openDetail(id) {
    const box = $('detail-body');
    box.replaceChildren(el('p', {}, 'Loading…'));
    $('detail').hidden = false;
    try {
      const d = await api('/analytics/interactions/' + encodeURIComponent(id));
      const parts = [el('h2', {}, 'Interaction ' + d.id)];
      if (!('content_status' in d)) parts.push(el('p', {}, 'This key may read metadata only (no analytics:content scope).'));
      else if (d.content_status === 'ok' && d.content) {
        parts.push(el('h3', {}, 'Request'), ...messageList(d.content.request));
        parts.push(el('h3', {}, 'Response'), ...messageList(d.content.response));
      } else parts.push(el('p', {}, d.content_status === 'tenant_forgotten' ? 'The tenant has been forgotten: its text is unreadable.' : 'No text was stored for this interaction.'));
      const meta = Object.assign({}, d);
      delete meta.content;
      parts.push(el('h3', {}, 'Metadata'), el('pre', {}, JSON.stringify(meta, null, 2)));
      box.replaceChildren(...parts);
    } catch (err) {
      box.replaceChildren(el('p', { class: 'error' }, err.message));
    }
  }

  async function refresh() {
    $('app-error').textContent = '';
    try {
      const summary = await api('/analytics/summary?' + filterQuery(true));
      tiles(summary.totals);
      charts(summary);
      await loadLog();
      document.body.dataset.ready = 'true';
    } catch (err) {
      if (err.status === 401 || err.status === 403) return showLogin(err.message);
      $('app-error').textContent = err.message;
    }
  }

  function showLogin(message) {
    sessionStorage.removeItem(KEY);
    $('app').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
  }

  function showApp() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('logout').hidden = false;
    state.cursors = [null];
    state.page = 0;
    refresh();
  }

  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, $('key').value.trim());
    $('key').value = '';
    showApp();
  });
  $('logout').addEventListener('click', () => showLogin(''));
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); state.cursors = [null]; state.page = 0; refresh(); });
  $('older').addEventListener('click', () => { state.page++; loadLog().catch((err) => ($('app-error').textContent = err.message)); });
  $('newer').addEventListener('click', () => { state.page = Math.max(0, state.page - 1); loadLog().catch((err) => ($('app-error').textContent = err.message)); });
  $('detail-close').addEventListener('click', () => ($('detail').hidden = true));
  if (sessionStorage.getItem(KEY)) showApp(); else showLogin('');
})();
`;

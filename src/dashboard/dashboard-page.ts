/** The analysts' page: markup and styles only; behaviour is in dashboard-script.ts. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tollgate analytics</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/assets/uplot.css">
<style>
  :root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #f7f8fa; --accent: #2f6fed; --bad: #c4320a; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; align-items: center; gap: 16px; padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 17px; margin: 0; }
  header .spacer { flex: 1; }
  main { padding: 16px 20px; max-width: 1400px; margin: 0 auto; }
  form.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 16px; }
  label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
  input, select, button { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
  button { cursor: pointer; } button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
  .tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; margin-bottom: 16px; }
  .tile { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
  .tile .v { font-size: 20px; font-weight: 600; } .tile .k { color: var(--muted); font-size: 12px; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; margin-bottom: 16px; }
  .chart { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px; min-height: 260px; }
  .chart h2, section h2 { font-size: 13px; margin: 0 0 6px; color: var(--muted); font-weight: 600; }
  table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  tbody tr { cursor: pointer; } tbody tr:hover { background: #eef3ff; }
  td.bad { color: var(--bad); font-weight: 600; }
  .pager { display: flex; gap: 8px; align-items: center; margin: 8px 0 24px; }
  #login { max-width: 460px; margin: 80px auto; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 24px; }
  #login input { width: 100%; margin: 8px 0 12px; }
  #detail { position: fixed; top: 0; right: 0; bottom: 0; width: min(640px, 100%); background: #fff; border-left: 1px solid var(--line);
    box-shadow: -8px 0 24px rgba(0,0,0,.08); padding: 16px; overflow: auto; }
  #detail pre { white-space: pre-wrap; word-break: break-word; background: var(--bg); padding: 10px; border-radius: 6px; }
  .msg { border-left: 3px solid var(--line); padding: 4px 10px; margin: 6px 0; white-space: pre-wrap; }
  .msg b { display: block; font-size: 12px; color: var(--muted); }
  .error { color: var(--bad); } [hidden] { display: none !important; }
</style>
</head>
<body>
<header><h1>Tollgate analytics</h1><span class="spacer"></span><span id="who"></span><button id="logout" hidden>Forget key</button></header>
<div id="login" hidden>
  <h2>Analytics key</h2>
  <p>Enter a key with the <code>analytics:read</code> scope (<code>analytics:content</code> to read prompts and answers). It is kept in this tab only.</p>
  <form id="login-form"><input id="key" type="password" autocomplete="off" placeholder="tg_..." required><button class="primary" type="submit">Open</button></form>
  <p id="login-error" class="error"></p>
</div>
<main id="app" hidden>
  <form class="filters" id="filters">
    <label>From <input type="datetime-local" name="from"></label>
    <label>To <input type="datetime-local" name="to"></label>
    <label>Model <input name="model" size="12"></label>
    <label>Key id <input name="key_id" size="12"></label>
    <label>End user <input name="end_user" size="10"></label>
    <label>Status <select name="status"><option value="">any</option><option value="ok">ok</option><option value="error">error</option><option>400</option><option>429</option><option>499</option><option>500</option><option>502</option><option>504</option></select></label>
    <label>Cache <select name="cache_status"><option value="">any</option><option>hit</option><option>semantic-hit</option><option>miss</option><option>bypass</option><option value="none">none</option></select></label>
    <label>Per <select name="group_by"><option value="hour">hour</option><option value="day" selected>day</option></select></label>
    <button class="primary" type="submit">Apply</button>
  </form>
  <p id="app-error" class="error"></p>
  <div class="tiles" id="tiles"></div>
  <div class="charts">
    <div class="chart"><h2>Requests and errors</h2><div id="chart-requests"></div></div>
    <div class="chart"><h2>Tokens</h2><div id="chart-tokens"></div></div>
    <div class="chart"><h2>Estimated cost and savings (USD)</h2><div id="chart-cost"></div></div>
    <div class="chart"><h2>Latency and time to first token (ms)</h2><div id="chart-latency"></div></div>
    <div class="chart"><h2>Cache hit rate and error rate (%)</h2><div id="chart-rates"></div></div>
  </div>
  <section>
    <h2>Interactions</h2>
    <table id="log"><thead><tr><th>Time (UTC)</th><th>Model</th><th>Status</th><th>Cache</th><th>Prompt</th><th>Completion</th><th>Latency ms</th><th>End user</th><th>Key</th></tr></thead><tbody></tbody></table>
    <div class="pager"><button id="newer" type="button" disabled>Newer</button><button id="older" type="button" disabled>Older</button><span id="page-info"></span></div>
  </section>
</main>
<aside id="detail" hidden><button id="detail-close" type="button">Close</button><div id="detail-body"></div></aside>
<script src="/dashboard/assets/uplot.js"></script>
<script src="/dashboard/app.js"></script>
</body>
</html>
`;

// Drives the dashboard in headless Chromium (playwright-core) and prints what it saw as one
// JSON object; tests/serve_browser_test.cpp checks it against the API and the cards. The
// charts are Chart.js: their data are read from the chart instances (Chart.getChart).
// usage: node dashboard.cjs URL OUTDIR SESSION_ID PARALLEL_SESSION_ID [CLAWTRACE STORE EVENTS_FILE (for the live refresh)]
'use strict';
const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');
const gantt = require('./gantt.cjs');

const [url, outDir, sessionId, parallelId, clawtrace, store, extra] = process.argv.slice(2);

// The data of the chart in [data-testid=TESTID], or null before it is drawn.
const chartData = (testid) => {
  const canvas = document.querySelector(`[data-testid=${testid}] canvas`);
  const chart = canvas && Chart.getChart(canvas);
  return chart ? chart.data.datasets[0].data : null;
};

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const out = {};

  await page.goto(url);
  await page.waitForSelector('[data-testid=session-row]');
  await page.waitForFunction(`(${chartData})('cost-chart') !== null`);
  out.rows = await page.$$eval('[data-testid=session-row]', (rows) => rows.map((r) => ({
    id: r.dataset.id, cost: Number(r.querySelector('[data-cost]').dataset.cost),
    shown: r.querySelector('[data-cost]').textContent })));
  out.total_cost = Number(await page.getAttribute('[data-testid=total-cost]', 'data-cost'));
  out.cost_chart = await page.evaluate(`(${chartData})('cost-chart')`);
  out.model_chart = await page.evaluate(`(${chartData})('model-chart')`);
  out.tag_chart = await page.evaluate(`(${chartData})('tag-chart')`);
  await page.screenshot({ path: outDir + '/overview.png', fullPage: true });

  await page.click(`[data-testid=session-row][data-id="${sessionId}"]`);
  await page.waitForSelector('[data-testid=tree] li.node');
  await gantt.waitUntilDrawn(page);
  out.hash = await page.evaluate(() => location.hash);
  out.session_cost = Number(await page.getAttribute('[data-testid=session-cost]', 'data-cost'));
  out.nodes = await page.$$eval('[data-testid=tree] li.node', (lis) => lis.map((li) => {
    const kinds = [];
    for (let p = li.parentElement.closest('li.node'); p; p = p.parentElement.closest('li.node')) kinds.push(p.dataset.kind);
    return { id: li.dataset.id, kind: li.dataset.kind, ancestors: kinds,
      redundant: li.querySelector(':scope > .node-row').classList.contains('redundant') };
  }));
  out.gantt = await gantt.read(page);
  await page.screenshot({ path: outDir + '/session.png', fullPage: true });

  // Payload on demand: the first tool call's arguments, fetched in full.
  await page.click('[data-testid=tree] li.node[data-kind=tool] > .node-row');
  await page.waitForSelector('[data-testid=payload]');
  out.payload = await page.textContent('[data-testid=payload]');
  // Hovering the first sub-agent's bar shows its details; clicking it opens it.
  const sub = out.gantt.rows[out.gantt.spans.findIndex((s) => s.kind === 'subagent')];
  const at = await gantt.pointAtBar(page, sub);
  await page.mouse.move(at.x, at.y);
  out.tip = await gantt.tooltipText(page, sub);
  await page.screenshot({ path: outDir + '/session-hover.png', fullPage: false, clip: await gantt.box(page) });
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction(() => /subagent/.test(document.querySelector('[data-testid=detail] h2')?.textContent || ''));
  out.clicked = await page.textContent('[data-testid=detail] h2');
  // Sub-agents collapse.
  await page.click('[data-testid=tree] li.node[data-kind=subagent] > .node-row > .toggle');
  out.subagent_collapsed = await page.isHidden('[data-testid=tree] li.node[data-kind=subagent] > ul');
  await page.screenshot({ path: outDir + '/session-detail.png', fullPage: false });

  // Parallel tool calls: the OpenAI loop's two bash calls.
  await page.goto(url + '#/session/' + parallelId);
  await gantt.waitUntilDrawn(page);
  out.parallel_gantt = await gantt.read(page);
  await page.screenshot({ path: outDir + '/session-parallel.png', fullPage: true });

  // Live refresh: a session stored while the overview is open shows up without a reload.
  if (clawtrace) {
    await page.goto(url);
    await page.waitForSelector('[data-testid=session-row]');
    const before = await page.$$eval('[data-testid=session-row]', (r) => r.length);
    execFileSync(clawtrace, ['--store', store, 'import', extra]);
    const t = Date.now();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=session-row]').length === n + 1, before, { timeout: 15000 });
    out.live_rows = [before, before + 1];
    out.live_ms = Date.now() - t;
  }

  out.foreign_requests = requests.filter((r) => !r.startsWith(new URL(url).origin));
  out.errors = errors;
  console.log(JSON.stringify(out));
  await browser.close();
}

main().catch((e) => { console.error(e && e.stack ? e.stack : String(e)); process.exit(1); });

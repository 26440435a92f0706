// Times the dashboard on a large store in headless Chromium: the overview of 10,000
// sessions, a tag filter, a 5,000-span session's tree and Gantt (Chart.js), a collapse,
// scrolling the Gantt and hovering a bar deep in it. Prints the figures as one JSON object
// (milliseconds). usage: node responsiveness.cjs URL SESSION TAG SPANS
'use strict';
const { chromium } = require('playwright-core');
const gantt = require('./gantt.cjs');

const [url, bigId, tag, spans] = process.argv.slice(2);

// In the page: runs fn, returns ms until the frame after next (the change painted).
const untilPainted = (fn) => new Promise((resolve) => {
  const t = performance.now();
  fn();
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t)));
});

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const out = {};
  let t = Date.now();
  await page.goto(url);
  await page.waitForSelector('[data-testid=session-row]');
  await page.waitForFunction(() => { const c = document.querySelector('[data-testid=cost-chart] canvas'); return c && Chart.getChart(c); });
  out.overview_ms = Date.now() - t;
  out.overview_total = await page.textContent('[data-testid=totals] b');
  t = Date.now();
  await page.fill('[data-testid=filter-tag]', tag);
  await page.press('[data-testid=filter-tag]', 'Enter');
  await page.waitForFunction(() => document.querySelector('.pager .muted').textContent.endsWith('of 1,000'));
  out.filter_ms = Date.now() - t;
  t = Date.now();
  await page.goto(url + '#/session/' + bigId);
  await page.waitForSelector('[data-testid=tree] li.node');
  await gantt.waitUntilDrawn(page, Number(spans), 60000);
  out.big_session_ms = Date.now() - t;
  out.big_session_nodes = await page.$$eval('[data-testid=tree] li.node', (l) => l.length);
  out.gantt_bars = (await gantt.read(page)).spans.length;
  out.collapse_ms = await page.evaluate(`(${untilPainted})(() => document.querySelector('[data-testid=tree] li.node > .node-row > .toggle').click())`);
  out.expand_ms = await page.evaluate(`(${untilPainted})(() => document.querySelector('[data-testid=tree] li.node > .node-row > .toggle').click())`);
  t = Date.now();
  await page.click('[data-testid=tree] li.node[data-kind=tool] > .node-row');
  await page.waitForSelector('[data-testid=payload]');
  out.payload_ms = Date.now() - t;
  // Scrolling the Gantt one screen (the chart redraws its window of rows).
  out.gantt_scroll_ms = await page.evaluate(`(${untilPainted})(() => { document.querySelector('[data-testid=gantt]').scrollTop += 576; })`);
  t = Date.now();
  const at = await gantt.pointAtBar(page, 4000);
  await page.mouse.move(at.x, at.y);
  await gantt.tooltipText(page, 4000);
  out.hover_ms = Date.now() - t;  // scroll to row 4,000, hover its bar, tooltip shown
  console.log(JSON.stringify(out));
  await browser.close();
}

main().catch((e) => { console.error(e && e.stack ? e.stack : String(e)); process.exit(1); });

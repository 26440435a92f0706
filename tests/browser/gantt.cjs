// The dashboard's Gantt (a Chart.js floating-bar chart in [data-testid=gantt]: one dataset
// per kind of span, each bar {x: [start, end], y: row, span}) as the browser tests see it:
// its spans and values, where a row's bar is on screen, its tooltip.
'use strict';

const chartOf = () => {
  const canvas = document.querySelector('[data-testid=gantt-chart] canvas');
  return canvas && Chart.getChart(canvas);
};
// In the page: every bar as [bar, element], over all datasets.
const barsOf = (chart) => chart.data.datasets.flatMap((ds, i) => ds.data.map((bar, k) => [bar, chart.getDatasetMeta(i).data[k]]));
const inPage = (fn, arg) => `((arg) => { const chartOf = ${chartOf}; const barsOf = ${barsOf}; return (${fn})(arg); })(${JSON.stringify(arg)})`;

// Waits until the chart is drawn with `bars` bars (any number when omitted).
async function waitUntilDrawn(page, bars, timeout = 30000) {
  await page.waitForFunction(inPage((n) => {
    const c = chartOf();
    if (!c) return false;
    const drawn = barsOf(c).filter(([, e]) => e).length;
    return drawn > 0 && (n === null || drawn === n);
  }, bars === undefined ? null : Number(bars)), null, { timeout });
}

// Every bar's span (id, kind), row, [start, end] in seconds and drawn length in pixels.
async function read(page) {
  return page.evaluate(inPage(() => {
    const all = barsOf(chartOf());
    return { spans: all.map(([b]) => b.span), rows: all.map(([b]) => b.y), data: all.map(([b]) => b.x),
      widths: all.map(([, e]) => Math.abs(e.x - e.base)) };
  }));
}

// Scrolls row `row` into view and returns the middle of its bar in page coordinates.
async function pointAtBar(page, row) {
  return page.evaluate(inPage(async (i) => {
    const scroller = document.querySelector('[data-testid=gantt]');
    const chart = chartOf();
    const y = () => chart.options.scales.y;
    const shown = Math.round(y().max - y().min);  // the axis runs from row - 0.5 to row + 0.5
    const rowPx = (scroller.scrollHeight - scroller.clientHeight) / Math.max(1, chart.data.labels.length - shown);
    if (i < y().min || i > y().max) scroller.scrollTop = Math.max(0, i - (shown >> 1)) * rowPx;
    scroller.scrollIntoView({ block: 'center' });
    const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    for (let k = 0; k < 20 && (i < y().min || i > y().max); ++k) await frames();
    await frames();
    const [, bar] = barsOf(chart).find(([b]) => b.y === i);
    const r = chart.canvas.getBoundingClientRect();
    return { x: r.left + (bar.x + bar.base) / 2, y: r.top + bar.y };
  }, Number(row)));
}

// The tooltip's title and lines once it shows row `row`.
async function tooltipText(page, row, timeout = 10000) {
  await page.waitForFunction(inPage((i) => {
    const t = chartOf().tooltip;
    return t.opacity > 0 && t.dataPoints && t.dataPoints.length > 0 && t.dataPoints[0].raw.y === i;
  }, Number(row)), null, { timeout });
  return page.evaluate(inPage(() => {
    const t = chartOf().tooltip;
    return [...t.title, ...t.body.flatMap((b) => b.lines)].join('\n');
  }));
}

// The Gantt's card, for a screenshot.
async function box(page) {
  const b = await page.locator('[data-testid=gantt]').boundingBox();
  return { x: 0, y: Math.max(0, b.y - 40), width: 1400, height: Math.min(900 - Math.max(0, b.y - 40), b.height + 60) };
}

module.exports = { waitUntilDrawn, read, pointAtBar, tooltipText, box };

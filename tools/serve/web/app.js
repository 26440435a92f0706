// ClawTrace dashboard: plain DOM for tables and the tree, Chart.js (npm, pinned, compiled
// into the binary with this file) for the charts; nothing loaded from elsewhere. Routes:
// #/ (overview), #/session/ID (execution path and timeline). Data from /api/ (same origin;
// a token given as ?token= is kept by the server in a cookie).
'use strict';

const app = document.getElementById('app');
const statusEl = document.getElementById('status');
const REFRESH_MS = 5000;
let refreshTimer = null;
let overviewState = { q: '', tag: '', status: '', sort: '-start', offset: 0, limit: 100 };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

function usd(v) {
  if (v === null || v === undefined) return '–';
  if (v === 0) return '$0';
  if (v >= 1) return '$' + v.toFixed(2);
  return '$' + v.toPrecision(4);
}
function usdTick(v) { return v === 0 ? '$0' : '$' + Number(v.toPrecision(3)); }
function seconds(s) {
  if (s === null || s === undefined) return '–';
  if (s < 1) return (s * 1000).toFixed(1) + ' ms';
  if (s < 120) return s.toFixed(2) + ' s';
  return Math.floor(s / 60) + 'm' + String(Math.floor(s % 60)).padStart(2, '0') + 's';
}
function when(ns) { return new Date(ns / 1e6).toISOString().replace('T', ' ').slice(0, 19); }
function num(n) { return n === undefined || n === null ? '–' : n.toLocaleString('en-US'); }
function pct(x) { return x === null || x === undefined ? '' : (x * 100).toFixed(1) + '%'; }

function setStatus(text, isError) {
  statusEl.textContent = text;
  statusEl.className = isError ? 'error' : '';
}

async function api(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => ({ error: 'bad response (' + res.status + ')' }));
  if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status));
  return body;
}

// ---------- charts (Chart.js) ----------

const KIND_COLOURS = { llm: '#3b6fd8', tool: '#2f9e6e', process: '#8a6d3b', subagent: '#b0489e', session: 'rgba(122,129,148,.35)' };
const ACCENT = '#3b6fd8';
Chart.defaults.animation = false;  // data changes are shown at once, also on a live refresh
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
Chart.defaults.font.size = 11;
Chart.defaults.color = '#6b7385';
Chart.defaults.maintainAspectRatio = false;

// A canvas is drawn once it is on the page; charts of a page left behind are destroyed.
let charts = [];
let pendingCharts = [];
function chartBox(testid, heightPx, config, label) {
  const canvas = el('canvas', { role: 'img', 'aria-label': label });
  const box = el('div', { class: 'chart', 'data-testid': testid, style: 'height:' + heightPx + 'px' }, canvas);
  pendingCharts.push(() => charts.push(new Chart(canvas, config)));
  return box;
}
function drawCharts() {
  for (const make of pendingCharts) make();
  pendingCharts = [];
}
function destroyCharts() {
  for (const c of charts) c.destroy();
  charts = [];
  pendingCharts = [];
}

// Horizontal bars of cost, one per label (per model, per tag).
function costBars(testid, labels, costs, extra) {
  return chartBox(testid, 34 + 26 * Math.max(1, labels.length), {
    type: 'bar',
    data: { labels, datasets: [{ data: costs, backgroundColor: ACCENT, maxBarThickness: 14, minBarLength: 1 }] },
    options: {
      indexAxis: 'y',
      interaction: { mode: 'index', axis: 'y', intersect: false },
      scales: { x: { beginAtZero: true, ticks: { callback: usdTick, maxTicksLimit: 5 } }, y: { grid: { display: false } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (i) => usd(costs[i.dataIndex]) + (extra ? extra(i.dataIndex) : '') } } },
    },
  }, 'Cost per ' + (testid === 'tag-chart' ? 'tag' : 'model') + ': ' + labels.map((l, i) => l + ' ' + usd(costs[i])).join(', '));
}

// ---------- overview ----------

function overviewQuery() {
  const p = new URLSearchParams();
  const s = overviewState;
  if (s.q) p.set('q', s.q);
  for (const t of s.tag.split(/[\s,]+/).filter(Boolean)) p.append('tag', t);
  if (s.status) p.set('status', s.status);
  p.set('sort', s.sort);
  p.set('limit', s.limit);
  p.set('offset', s.offset);
  return '/api/sessions?' + p.toString();
}

function filterBar(reload) {
  const s = overviewState;
  const q = el('input', { type: 'search', placeholder: 'search id, name, command', value: s.q, 'data-testid': 'filter-text' });
  const tag = el('input', { type: 'text', placeholder: 'tag K=V', value: s.tag, size: 14, 'data-testid': 'filter-tag' });
  const status = el('select', { 'data-testid': 'filter-status' },
    ...['', 'ok', 'failed', 'running', 'truncated'].map(v => el('option', { value: v, text: v || 'any status' })));
  status.value = s.status;
  const sort = el('select', { 'data-testid': 'sort' },
    ...[['-start', 'newest'], ['start', 'oldest'], ['-cost', 'costliest'], ['-duration', 'longest'], ['-calls', 'most calls']]
      .map(([v, t]) => el('option', { value: v, text: t })));
  sort.value = s.sort;
  const apply = () => {
    Object.assign(s, { q: q.value.trim(), tag: tag.value.trim(), status: status.value, sort: sort.value, offset: 0 });
    reload();
  };
  q.addEventListener('change', apply);
  tag.addEventListener('change', apply);
  status.addEventListener('change', apply);
  sort.addEventListener('change', apply);
  return el('div', { class: 'card filters' }, q, tag, status, sort);
}

function costCell(cost, unpriced) {
  return el('td', { class: 'num', 'data-cost': String(cost),
    text: usd(cost) + (unpriced ? ' +?' : ''), title: cost + ' USD' + (unpriced ? ', ' + unpriced + ' unpriced calls' : '') });
}

function sessionLabel(s) { return s.name || s.command.split(' ')[0].split('/').pop(); }

// One bar per session of the page, in the table's order; a click opens the session.
function sessionCostChart(sessions) {
  return chartBox('cost-chart', 170, {
    type: 'bar',
    data: { labels: sessions.map(sessionLabel), datasets: [{ data: sessions.map(s => s.cost_usd), backgroundColor: ACCENT, maxBarThickness: 28, minBarLength: 1 }] },
    options: {
      interaction: { mode: 'index', axis: 'x', intersect: false },
      scales: { y: { beginAtZero: true, ticks: { callback: usdTick, maxTicksLimit: 4 } }, x: { grid: { display: false }, ticks: { autoSkip: true, maxRotation: 0 } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: {
        title: (items) => sessionLabel(sessions[items[0].dataIndex]) + ' · ' + sessions[items[0].dataIndex].id,
        label: (i) => { const s = sessions[i.dataIndex]; return usd(s.cost_usd) + ' · ' + num(s.llm_calls) + ' LLM calls · ' + s.status; } } } },
      onClick: (ev, els) => { if (els.length) location.hash = '#/session/' + sessions[els[0].index].id; },
      onHover: (ev, els) => { ev.native.target.style.cursor = els.length ? 'pointer' : 'default'; },
    },
  }, 'Cost per session of this page, in the table\'s order');
}

function sessionsTable(data) {
  const head = el('tr', {}, ...['session', 'start', 'duration', 'status', 'LLM calls', 'tokens in / out / cache r / w', 'cost', 'Q', 'tags']
    .map((h, i) => el('th', { class: i === 4 || i === 6 || i === 7 ? 'num' : '', text: h })));
  const rows = data.sessions.map(s => {
    const t = s.tokens;
    return el('tr', { class: 'session-row', 'data-testid': 'session-row', 'data-id': s.id, onclick: () => { location.hash = '#/session/' + s.id; } },
      el('td', {}, el('b', { text: sessionLabel(s) }), ' ', el('span', { class: 'muted', text: s.id })),
      el('td', { text: when(s.start_ns) }),
      el('td', { text: seconds(s.duration_s) }),
      el('td', { class: 'status-' + s.status, text: s.status + (s.exit_code && s.status !== 'ok' ? ' (' + s.exit_code + ')' : '') }),
      el('td', { class: 'num', text: num(s.llm_calls) }),
      el('td', { class: 'muted', text: [t.input, t.output, t.cache_read, t.cache_write].map(num).join(' / ') }),
      costCell(s.cost_usd, s.unpriced_calls),
      el('td', { class: 'num', text: s.quality === null ? '–' : s.quality.toFixed(2) }),
      el('td', { class: 'tags' }, ...Object.entries(s.tags).map(([k, v]) => el('span', { text: k + '=' + v }))));
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 9, class: 'muted', text: 'No sessions match.' })));
  return el('table', { 'data-testid': 'sessions' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

function totalsPanels(totals) {
  const models = el('table', { 'data-testid': 'by-model' },
    el('tr', {}, el('th', { text: 'model' }), el('th', { class: 'num', text: 'calls' }), el('th', { class: 'num', text: 'tokens out' }), el('th', { class: 'num', text: 'bill' })),
    ...totals.by_model.map(m => el('tr', {}, el('td', { text: m.model || '(unknown)' }), el('td', { class: 'num', text: num(m.calls) }),
      el('td', { class: 'num', text: num(m.tokens.output) }), costCell(m.cost_usd, m.unpriced_calls))));
  const tags = el('table', { 'data-testid': 'by-tag' },
    el('tr', {}, el('th', { text: 'tag' }), el('th', { class: 'num', text: 'sessions' }), el('th', { class: 'num', text: 'cost' })),
    ...totals.by_tag.map(t => el('tr', {}, el('td', { text: t.key + '=' + t.value }), el('td', { class: 'num', text: num(t.sessions) }),
      costCell(t.cost_usd, 0))));
  const byModel = el('div', { class: 'card' }, el('h2', { text: 'Per model' }), models);
  if (totals.by_model.length)
    byModel.append(costBars('model-chart', totals.by_model.map(m => m.model || '(unknown)'), totals.by_model.map(m => m.cost_usd),
      (i) => ' · ' + num(totals.by_model[i].calls) + ' calls' + (totals.by_model[i].unpriced_calls ? ', ' + totals.by_model[i].unpriced_calls + ' unpriced' : '')));
  const byTag = el('div', { class: 'card' }, el('h2', { text: 'Per tag' }), tags);
  if (totals.by_tag.length)
    byTag.append(costBars('tag-chart', totals.by_tag.map(t => t.key + '=' + t.value), totals.by_tag.map(t => t.cost_usd),
      (i) => ' · ' + num(totals.by_tag[i].sessions) + ' sessions'));
  else tags.append(el('tr', {}, el('td', { class: 'muted', colspan: 3, text: 'No tags (clawtrace run --tag K=V).' })));
  return el('div', { class: 'two' }, byModel, byTag);
}

async function renderOverview() {
  document.getElementById('crumb').textContent = 'sessions';
  const body = el('div');
  const load = async () => {
    const data = await api(overviewQuery());
    const t = data.totals;
    const kpis = el('div', { class: 'card kpis', 'data-testid': 'totals' },
      el('div', { class: 'kpi' }, el('b', { text: num(t.sessions) }), el('span', { text: 'sessions' })),
      el('div', { class: 'kpi' }, el('b', { text: usd(t.cost_usd), 'data-testid': 'total-cost', 'data-cost': String(t.cost_usd) }), el('span', { text: 'cost (TraceCard totals)' })),
      el('div', { class: 'kpi' }, el('b', { text: num(t.llm_calls) }), el('span', { text: 'LLM calls' })),
      el('div', { class: 'kpi' }, el('b', { text: num(t.tokens.input + t.tokens.cache_read + t.tokens.cache_write) }), el('span', { text: 'input tokens (all classes)' })),
      el('div', { class: 'kpi' }, el('b', { text: num(t.tokens.output) }), el('span', { text: 'output tokens' })));
    const s = overviewState;
    const pager = el('div', { class: 'pager' },
      el('button', { text: '‹ prev', onclick: () => { s.offset = Math.max(0, s.offset - s.limit); load().catch(fail); } }),
      el('span', { class: 'muted', text: data.total ? (data.offset + 1) + '–' + Math.min(data.total, data.offset + data.limit) + ' of ' + num(data.total) : '' }),
      el('button', { text: 'next ›', onclick: () => { s.offset += s.limit; load().catch(fail); } }));
    pager.firstChild.disabled = data.offset === 0;
    pager.lastChild.disabled = data.offset + data.limit >= data.total;
    destroyCharts();
    const costChart = data.sessions.length ? el('div', { class: 'card' }, el('h2', { text: 'Cost per session (this page)' }), sessionCostChart(data.sessions)) : null;
    body.replaceChildren(...[kpis, costChart, el('div', { class: 'card' }, sessionsTable(data), pager), totalsPanels(t)].filter(Boolean));
    drawCharts();
    setStatus('updated ' + new Date().toLocaleTimeString());
  };
  app.replaceChildren(filterBar(() => load().catch(fail)), body);
  await load();
  scheduleRefresh(load);
}

// ---------- one session ----------

function flatten(node, depth, out) {
  out.push({ node, depth });
  for (const c of node.children) flatten(c, depth + 1, out);
  return out;
}

function preview(n) {
  return n.error || n.args || n.result || n.output || (n.kind === 'llm' ? (n.role || '') : '');
}

function nodeLabel(n) {
  return n.kind === 'llm' ? (n.model || n.name) : n.name;
}

function treeView(root, findings, onSelect) {
  const container = el('div', { class: 'tree', 'data-testid': 'tree' });
  let selected = null;
  const build = (n) => {
    const li = el('li', { class: 'node', 'data-id': n.id, 'data-kind': n.kind });
    const wasteful = (n.redundancy || []).some(m => m.wasteful);
    const toggle = el('span', { class: 'toggle', text: n.children.length ? '▾' : '' });
    const row = el('div', { class: 'node-row' + (wasteful ? ' redundant' : ''), 'data-testid': 'node-row',
      title: wasteful ? (n.redundancy.map(m => findings[m.finding].reason).join('\n')) : null },
      toggle, el('span', { class: 'kind kind-' + n.kind, text: n.kind }),
      el('span', { class: 'name', text: nodeLabel(n) || n.id }),
      el('span', { class: 'preview', text: preview(n) }),
      el('span', { class: 'muted', text: seconds(n.duration_s) }),
      el('div', { class: 'share', title: pct(n.share) + ' of the session' }, el('div', { style: 'width:' + Math.round((n.share || 0) * 100) + '%' })),
      el('span', { class: 'cost', text: n.cost_usd === null ? '' : usd(n.cost_usd), title: n.cost_usd === null ? '' : n.cost_usd + ' USD, ' + pct(n.share) }));
    toggle.addEventListener('click', (ev) => { ev.stopPropagation(); li.classList.toggle('collapsed'); toggle.textContent = li.classList.contains('collapsed') ? '▸' : '▾'; });
    row.addEventListener('click', () => {
      if (selected) selected.classList.remove('selected');
      selected = row;
      row.classList.add('selected');
      onSelect(n);
    });
    li.append(row);
    if (n.children.length) li.append(el('ul', {}, ...n.children.map(build)));
    return li;
  };
  container.append(el('ul', {}, build(root)));
  return container;
}

// The timeline: a Chart.js horizontal floating bar [start, end] per span, one row each in
// the tree's order, so parallel tool calls and sub-agents show as overlapping bars. One
// dataset per kind (shared options: Chart.js then updates 5,000 bars quickly), and one for
// spans still open; the rows are a linear axis (row numbers, labelled with the spans'
// names), as category labels repeat and datasets of several kinds share rows. A long
// session scrolls: the chart keeps every bar and shows the rows in view (the y axis'
// window), so its canvas stays small with 5,000 spans.
const GANTT_ROW_PX = 18, GANTT_BAR_PX = 12, GANTT_ROWS = 32, GANTT_AXIS_PX = 30, GANTT_LEGEND_PX = 28, GANTT_LABEL_PX = 260;
const GANTT_SETS = [['session', 'session'], ['llm', 'LLM call'], ['tool', 'tool call'], ['process', 'process'],
  ['subagent', 'sub-agent'], ['open', 'still open']];

function ganttLabel(node, depth) {
  const name = nodeLabel(node) || node.id;
  return ' '.repeat(2 * depth) + (name.length > 36 ? name.slice(0, 35) + '…' : name);
}

function ganttDetail(node) {
  return ['start ' + seconds(node.start_s) + ', took ' + (node.open ? 'still open' : seconds(node.duration_s)),
    node.cost_usd === null ? '' : 'cost ' + usd(node.cost_usd) + ' (' + pct(node.share) + ')',
    preview(node).slice(0, 120)].filter(Boolean);
}

// The bars, each {x: [start, end], y: row, span: {id, kind, session}}, by dataset.
function ganttDatasets(rows, end) {
  const bars = Object.fromEntries(GANTT_SETS.map(([key]) => [key, []]));
  rows.forEach(({ node: n }, row) => {
    const key = n.open ? 'open' : (bars[n.kind] ? n.kind : 'tool');
    bars[key].push({ x: [Math.max(0, n.start_s), n.duration_s === null ? end : n.start_s + n.duration_s], y: row,
      span: { id: n.id, kind: n.kind, session: n.session } });
  });
  return GANTT_SETS.map(([key, label]) => ({
    label, data: bars[key], normalized: true, grouped: false, clip: 0, borderSkipped: false, minBarLength: 2,
    barThickness: GANTT_BAR_PX,
    backgroundColor: key === 'open' ? 'rgba(208,138,26,.35)' : KIND_COLOURS[key],
    borderColor: key === 'open' ? '#d08a1a' : 'transparent', borderWidth: key === 'open' ? 1 : 0,
  }));
}

function rowTicks(min, max) {
  const ticks = [];
  for (let v = Math.ceil(min); v <= Math.floor(max); v++) ticks.push({ value: v });
  return ticks;
}

function ganttView(root, onSelect) {
  const rows = flatten(root, 0, []);
  let end = 0;
  for (const { node } of rows) end = Math.max(end, node.start_s + (node.duration_s || 0));
  end = end || 1;
  const shown = Math.min(rows.length, GANTT_ROWS);
  const height = shown * GANTT_ROW_PX + GANTT_AXIS_PX + GANTT_LEGEND_PX;
  const nodeOf = (item) => rows[item.raw.y].node;
  const labels = rows.map(({ node, depth }) => ganttLabel(node, depth));
  const box = chartBox('gantt-chart', height, {
    type: 'bar',
    data: { labels, datasets: ganttDatasets(rows, end) },
    options: {
      indexAxis: 'y',
      interaction: { mode: 'nearest', axis: 'y', intersect: false },  // anywhere on a row: its span
      scales: {
        x: { type: 'linear', position: 'top', min: 0, max: end, ticks: { callback: (v) => seconds(v), maxTicksLimit: 6 } },
        y: { type: 'linear', reverse: true, offset: false, min: -0.5, max: shown - 0.5, grid: { display: false },
             ticks: { autoSkip: false, crossAlign: 'far', color: '#1d2330', callback: (v) => labels[v] ?? '' },
             afterBuildTicks: (scale) => { scale.ticks = rowTicks(scale.min, scale.max); },
             afterFit: (scale) => { scale.width = GANTT_LABEL_PX; } },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12, filter: (item, data) => data.datasets[item.datasetIndex].data.length > 0 } },
        tooltip: { callbacks: {
        title: (items) => { const n = nodeOf(items[0]); return n.kind + ' ' + (nodeLabel(n) || n.id); },
        label: (item) => ganttDetail(nodeOf(item)) } } },
      onClick: (ev, els, chart) => { if (els.length) onSelect(rows[chart.data.datasets[els[0].datasetIndex].data[els[0].index].y].node); },
      onHover: (ev, els) => { ev.native.target.style.cursor = els.length ? 'pointer' : 'default'; },
    },
  }, 'Timeline of ' + rows.length + ' spans, one bar per span in the order of the execution path');
  box.classList.add('g-sticky');
  const scroller = el('div', { class: 'g-scroll', 'data-testid': 'gantt', style: 'height:' + height + 'px' },
    box, el('div', { style: 'height:' + (rows.length - shown) * GANTT_ROW_PX + 'px' }));
  let queued = false;
  scroller.addEventListener('scroll', () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      const chart = Chart.getChart(box.querySelector('canvas'));
      const first = Math.min(rows.length - shown, Math.round(scroller.scrollTop / GANTT_ROW_PX));
      if (!chart || chart.options.scales.y.min === first - 0.5) return;
      chart.options.scales.y.min = first - 0.5;
      chart.options.scales.y.max = first + shown - 0.5;
      chart.update('none');
    });
  });
  const note = rows.length > shown ? el('p', { class: 'muted', text: num(rows.length) + ' spans, ' + shown + ' in view: scroll the timeline for the rest.' }) : null;
  return el('div', {}, note, scroller);
}

async function showSpan(sessionId, n, panel) {
  panel.replaceChildren(el('p', { class: 'muted', text: 'loading ' + n.id + '…' }));
  try {
    const span = await api('/api/sessions/' + sessionId + '/spans/' + encodeURIComponent(n.id) + '?session=' + n.session);
    const kids = [el('h2', { text: n.kind + ' ' + (nodeLabel(n) || n.id) }),
      el('p', { class: 'muted', text: 'span ' + n.id + ' · start ' + seconds(n.start_s) + ' · took ' + seconds(n.duration_s) +
        (n.cost_usd === null ? '' : ' · ' + usd(n.cost_usd) + ' (' + pct(n.share) + ')') })];
    if (n.tokens) kids.push(el('p', { text: 'tokens: in ' + n.tokens.input + ', out ' + n.tokens.output + ', cache read ' + n.tokens.cache_read + ', cache write ' + n.tokens.cache_write }));
    for (const side of ['open', 'close']) {
      if (!span[side]) continue;
      kids.push(el('h3', { text: span[side].type }), el('pre', { 'data-testid': 'payload', text: JSON.stringify(span[side].data, null, 2) }));
    }
    panel.replaceChildren(...kids);
  } catch (e) {
    panel.replaceChildren(el('p', { class: 'error-box', text: e.message }));
  }
}

async function renderSession(id) {
  document.getElementById('crumb').textContent = '› session ' + id;
  let refreshing = false;
  const load = async () => {
    const data = await api('/api/sessions/' + encodeURIComponent(id));
    const s = data.session, card = data.card;
    const detail = el('div', { class: 'card detail', 'data-testid': 'detail' }, el('p', { class: 'muted', text: 'Click a span (in the tree or the timeline) for its arguments, results or messages.' }));
    const findings = card.redundancy;
    const head = el('div', { class: 'card kpis' },
      el('div', { class: 'kpi' }, el('b', { text: s.name || s.id }), el('span', { text: s.id + ' · ' + when(s.start_ns) })),
      el('div', { class: 'kpi' }, el('b', { class: 'status-' + s.status, text: s.status }), el('span', { text: seconds(s.duration_s) })),
      el('div', { class: 'kpi' }, el('b', { text: usd(s.cost_usd), 'data-testid': 'session-cost', 'data-cost': String(s.cost_usd) }), el('span', { text: 'cost, sub-agents included' })),
      el('div', { class: 'kpi' }, el('b', { text: num(s.llm_calls) }), el('span', { text: 'LLM calls' })),
      el('div', { class: 'kpi' }, el('b', { text: num(s.tool_calls) }), el('span', { text: 'tool calls' })),
      el('div', { class: 'kpi' }, el('b', { text: num(s.subagents) }), el('span', { text: 'sub-agents' })),
      el('div', { class: 'kpi' }, el('a', { href: '/api/sessions/' + s.id + '/card?format=yaml', target: '_blank', text: 'TraceCard (YAML)' })));
    const waste = findings.length ? el('div', { class: 'card' }, el('h2', { text: 'Redundancy' }),
      ...findings.map(f => el('div', { class: 'finding' }, el('b', { text: f.kind + ' · ' + usd(f.wasted_usd) + ' wasted' }), ' ', f.reason))) : null;
    const scrolled = refreshing ? (app.querySelector('[data-testid=gantt]')?.scrollTop || 0) : 0;  // kept across a refresh
    refreshing = true;
    destroyCharts();
    const select = (n) => showSpan(s.id, n, detail);
    app.replaceChildren(...[head, waste,  // (replaceChildren would show a null as text)
      el('div', { class: 'split' },
        el('div', { class: 'card' }, el('h2', { text: 'Execution path' }), treeView(data.tree, findings, select)),
        detail),
      el('div', { class: 'card' }, el('h2', { text: 'Timeline' }), ganttView(data.tree, select))].filter(Boolean));
    drawCharts();
    if (scrolled) document.querySelector('[data-testid=gantt]').scrollTop = scrolled;
    setStatus('updated ' + new Date().toLocaleTimeString());
    return s.status === 'running';
  };
  const running = await load();
  if (running) scheduleRefresh(async () => { if (!(await load())) stopRefresh(); });
}

// ---------- routing ----------

function fail(e) { setStatus(e.message, true); }
function stopRefresh() { if (refreshTimer) clearInterval(refreshTimer); refreshTimer = null; }
function scheduleRefresh(fn) {
  stopRefresh();
  refreshTimer = setInterval(() => {
    if (document.getElementById('live').checked && !document.hidden) fn().catch(fail);
  }, REFRESH_MS);
}

async function route() {
  stopRefresh();
  destroyCharts();
  const m = location.hash.match(/^#\/session\/([0-9a-fA-F]{1,16}|last)$/);
  try {
    if (m) await renderSession(m[1]);
    else await renderOverview();
  } catch (e) {
    app.replaceChildren(el('div', { class: 'card error-box', 'data-testid': 'error', text: e.message }));
    fail(e);
  }
}

window.addEventListener('hashchange', route);
route();

// The Troupe dashboard: the overview (figures, charts, running tasks, agents, breakers, failures, dead letters),
// the task lists (tasks.js, `#/tasks?...`) and a task's detail (task-detail.js, `#/tasks/<id>`). Polls the daemon's
// figures, follows its event stream; the actions are in actions.js. Requests are same-origin and carry the session
// cookie: nothing here sees the token. Task-provided text (errors, progress, ids) is only ever set through textContent.

import { HttpError, api, brief, byId, clock, count, duration, el, fillTable, rate, shortId } from './util.js';
import { initTaskDetail, taskLink } from './task-detail.js';
import { initCharts, refreshCharts } from './charts.js';
import { initTasks, setAgentNames, showTasks } from './tasks.js';
import { renderAgents, renderBreakers } from './agents.js';
import { actionButton, initActions, redriveTask } from './actions.js';

const POLL_MS = 1000;
const MAX_FAILURES = 50;
const DEAD_SHOWN = 10;
const EVENTS = '/v1/events?type=failed,dead,redriven';

/* ---------- Connection status ---------- */

const connection = { poll: 'connecting', stream: 'connecting' };

function renderStatus() {
  const { poll, stream } = connection;
  const [state, text] =
    poll === 'unauthorised' ? ['unauthorised', 'signed out: sign in again at /login']
    : poll === 'ok' && stream === 'open' ? ['live', 'live']
    : poll === 'connecting' ? ['connecting', 'connecting']
    : ['reconnecting', 'reconnecting'];
  const badge = byId('status');
  badge.dataset.state = state;
  badge.textContent = text;
}

/* ---------- Figures ---------- */

/** Each tile: its value and its hint, from one snapshot. */
const TILES = {
  succeeded: (s) => [count(s.counters.succeeded), `of ${count(s.counters.submitted)} submitted`],
  failed: (s) => [count(s.counters.failed), `${count(s.counters.retried)} retried, ${count(s.counters.timedOut)} timed out`],
  'dead-letters': (s) => [count(s.queue.dead), `${count(s.counters.redriven)} redriven`],
  'queue-depth': (s) => [count(s.queue.depth), `${count(s.queue.delayed)} delayed`],
  running: (s) => [count(s.running), `${count(s.pool.busy)} on threads, ${count(s.pool.processes)} processes`],
  threads: (s) => [count(s.pool.size), `target ${s.pool.target} (${s.pool.minThreads}–${s.pool.maxThreads})`],
  throughput: (s) => [rate(s.throughput['10s']), `1 s: ${rate(s.throughput['1s'])}, 60 s: ${rate(s.throughput['60s'])}`],
  'latency-p95': (s) => {
    const e = s.latency.endToEnd;
    return e.count === 0 ? ['–', 'no task finished yet'] : [duration(e.p95), `p50 ${duration(e.p50)}, p99 ${duration(e.p99)}`];
  },
};

function renderTiles(snapshot) {
  for (const [id, figures] of Object.entries(TILES)) {
    const [value, hint] = figures(snapshot);
    document.querySelector(`[data-testid="${id}"]`).textContent = value;
    document.querySelector(`[data-hint="${id}"]`).textContent = hint;
  }
  byId('updated').textContent = `updated ${clock(snapshot.at)}`;
}

/** The firing threshold alerts as a list, whatever their shape; none when the snapshot has no `alerts`. */
function alertList(alerts) {
  if (Array.isArray(alerts)) return alerts;
  if (alerts === null || typeof alerts !== 'object') return [];
  return Object.entries(alerts).map(([key, value]) => (value !== null && typeof value === 'object' ? { key, ...value } : { key, message: String(value) }));
}

function renderAlerts(alerts) {
  const items = alertList(alerts).map((a) => {
    const text = typeof a === 'string' ? a : (a?.message ?? a?.alert ?? brief(a));
    const since = typeof a?.since === 'number' ? ` (since ${clock(a.since)})` : '';
    return el('li', {}, `${text}${since}`);
  });
  const strip = byId('alerts');
  strip.replaceChildren(...items);
  strip.hidden = items.length === 0;
}

/* ---------- Tables ---------- */

/** A <progress> bar for a fraction (0..1) or a {done|current, total} object; the value as text otherwise. */
function progressCell(progress) {
  const pair = progress && typeof progress === 'object' ? [progress.done ?? progress.current, progress.total] : undefined;
  const fraction =
    typeof progress === 'number' && progress >= 0 && progress <= 1 ? progress
    : pair && typeof pair[0] === 'number' && typeof pair[1] === 'number' && pair[1] > 0 ? Math.min(1, pair[0] / pair[1])
    : undefined;
  if (fraction === undefined) return el('td', { class: 'mono' }, progress === undefined ? '' : brief(progress));
  const label = pair ? `${pair[0]}/${pair[1]}` : `${Math.round(fraction * 100)}%`;
  return el('td', {}, el('progress', { max: 1, value: fraction }), ` ${label}`);
}

/** Running rows by task id: kept across polls (their cells change), so that a link is never swapped under a click. */
const runningRows = new Map();

function renderRunning(tasks, now) {
  const rows = tasks.map((t) => {
    let row = runningRows.get(t.id);
    if (row === undefined) runningRows.set(t.id, (row = el('tr', { 'data-task-id': t.id }, el('td', { class: 'mono' }, taskLink(t.id)))));
    row.replaceChildren(
      row.firstElementChild,
      el('td', {}, t.agent),
      el('td', {}, t.priority),
      el('td', {}, t.attempt),
      el('td', {}, typeof t.startedAt === 'number' ? duration(now - t.startedAt) : '–'),
      progressCell(t.progress),
    );
    return row;
  });
  for (const id of runningRows.keys()) if (!tasks.some((t) => t.id === id)) runningRows.delete(id);
  const body = byId('running-rows');
  if (rows.length !== body.children.length || rows.some((row, i) => body.children[i] !== row)) fillTable('running-rows', 'running-empty', rows);
}

const failures = [];

function addFailure(event) {
  failures.unshift(event);
  failures.length = Math.min(failures.length, MAX_FAILURES);
  const rows = failures.map((f) =>
    el(
      'tr',
      { 'data-task-id': f.taskId },
      el('td', {}, clock(f.at)),
      el('td', { class: 'mono' }, taskLink(f.taskId, shortId(f.taskId))),
      el('td', {}, f.agent),
      el('td', {}, f.attempt),
      el('td', { class: 'error' }, brief(f.error?.message ?? f.error, 200)),
      el('td', {}, f.dead ? 'dead' : `retry at ${clock(f.retryAt)}`),
    ),
  );
  fillTable('failure-rows', 'failures-empty', rows);
}

/** The ids shown: the table is rebuilt only when they change, so a button is never swapped under a click. */
let deadShown;

/** The newest dead letters; all of them, paged and filtered, are in the list at `#/tasks?state=dead`. */
function renderDead(tasks, total) {
  byId('dead-all').textContent = `All ${count(total)} dead letters, with filters →`;
  byId('dead-all').hidden = !(total > 0);
  const ids = tasks.map((t) => `${t.id}/${t.state}`).join('\n');
  if (ids === deadShown) return;
  deadShown = ids;
  const rows = tasks.map((t) =>
    el(
      'tr',
      { 'data-task-id': t.id },
      el('td', { class: 'mono' }, taskLink(t.id)),
      el('td', {}, t.agent),
      el('td', {}, t.history?.length ?? t.attempt),
      el('td', {}, clock(t.finishedAt)),
      el('td', { class: 'error' }, brief(t.error?.message ?? t.error, 200)),
      el('td', { class: 'actions' }, actionButton('Redrive', 'redrive', (b) => redriveTask(t.id, b))),
    ),
  );
  fillTable('dead-rows', 'dead-empty', rows);
}

async function refreshDead() {
  const { tasks } = await api(`/v1/tasks?state=dead&newest=1&limit=${DEAD_SHOWN}`);
  const total = lastSnapshot?.queue.dead ?? tasks.length;
  renderDead(tasks, total);
}

async function refreshAgents() {
  const { agents } = await api('/v1/agents');
  setAgentNames(renderAgents(agents));
}

/* ---------- Polling and the event stream ---------- */

let lastSnapshot;

/** The panels besides the figures: one of them failing (an older daemon) does not stop the others. */
const quietly = (promise) => promise.catch(() => undefined);

async function poll() {
  try {
    const [snapshot, running, breakers] = await Promise.all([api('/v1/snapshot'), api('/v1/tasks?state=running&limit=50'), api('/v1/breakers')]);
    lastSnapshot = snapshot;
    connection.poll = 'ok';
    renderTiles(snapshot);
    renderAlerts(snapshot.alerts);
    renderRunning(running.tasks, snapshot.at);
    renderBreakers(breakers.breakers);
    await Promise.all([quietly(refreshDead()), quietly(refreshAgents()), quietly(refreshCharts())]);
  } catch (err) {
    connection.poll = err instanceof HttpError && err.status === 401 ? 'unauthorised' : 'down';
  }
  renderStatus();
  // The token was rotated (or the cookie expired): the login page, rather than a dead page.
  if (connection.poll === 'unauthorised') return void location.assign('/login');
  setTimeout(poll, POLL_MS);
}

function follow() {
  const events = new EventSource(EVENTS);
  events.onopen = () => {
    connection.stream = 'open';
    renderStatus();
  };
  events.onerror = () => {
    connection.stream = 'down';
    renderStatus();
    // The browser retries a dropped stream by itself, but gives up on a refused one (a 401, the daemon gone).
    if (events.readyState === EventSource.CLOSED) setTimeout(follow, 3000);
  };
  events.addEventListener('failed', (e) => addFailure(JSON.parse(e.data)));
  for (const type of ['dead', 'redriven']) events.addEventListener(type, () => refreshDead().catch(() => undefined));
}

/* ---------- Views ---------- */

/** The view the address names: a task (`#/tasks/<id>`), the task list (`#/tasks?...`) or the overview. */
function route() {
  const hash = location.hash;
  const view = /^#\/tasks\/./.test(hash) ? 'task' : /^#\/tasks(\?|$)/.test(hash) ? 'tasks' : 'overview';
  document.body.dataset.view = view;
  for (const link of document.querySelectorAll('nav.views a')) link.toggleAttribute('aria-current', link.dataset.view === view);
  showTasks(view === 'tasks' ? hash : undefined);
}

initActions();
initTasks();
initTaskDetail();
window.addEventListener('hashchange', route);
window.addEventListener('troupe:refresh', () => void quietly(Promise.all([refreshDead(), refreshAgents()])));
route();
follow();
// The charts first take the daemon's recent history, then the live samples.
initCharts().then(poll);

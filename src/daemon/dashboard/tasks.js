// The task list view, at `#/tasks?<filters>` (filters.js): tabs by state with their counts (`GET /v1/tasks/counts`),
// one page of tasks (`GET /v1/tasks`, newest first unless asked otherwise), next / previous / first page through the
// `after` cursor, and the actions a row offers (cancel, redrive) plus "redrive all" on the dead tab. Every id links to
// its detail. Refreshed every few seconds while shown. Task text only ever becomes text nodes.

import { api, byId, el, query, shortId, stateBadge, brief, count, waitText, when } from './util.js';
import { STATES, PAGE_SIZES, describeFilters, filtersHash, listParams, readFilters, scopeParams } from './filters.js';
import { actionButton, cancelTask, redriveAll, redriveTask } from './actions.js';
import { taskLink } from './task-detail.js';

const REFRESH_MS = 2000;
const TERMINAL = new Set(['succeeded', 'dead', 'cancelled']);

/** The filters shown; the `after` cursors of the pages before this one (for "previous"), for one set of filters. */
let shown;
let trail = [];
let trailKey;
let active = false;
let timer;
let seq = 0;
/** Rows by task id, kept while the task's state is the same: a button is never swapped under a click. */
const rows = new Map();

/** What a row says of a task besides its facts: its error, why it waits, or its progress. */
function note(t, now) {
  if (t.state === 'dead' || (t.error && t.state !== 'succeeded')) return { text: brief(t.error?.message ?? t.error, 200), cls: 'error' };
  if (t.waiting) return { text: waitText(t.waiting, now), cls: 'waiting' };
  if (t.heldBy) return { text: waitText({ for: 'breaker', ...t.heldBy }, now), cls: 'waiting' };
  if (t.state === 'running' && t.progress !== undefined) return { text: `progress ${brief(t.progress, 120)}`, cls: '' };
  if (t.state === 'cancelled') return { text: t.cancelReason ?? '', cls: 'muted' };
  return { text: '', cls: '' };
}

function rowFor(t) {
  let row = rows.get(t.id);
  if (row?.dataset.state === t.state) return row;
  const actions = el('td', { class: 'actions' });
  if (t.state === 'dead') actions.append(actionButton('Redrive', 'redrive', (b) => redriveTask(t.id, b)));
  if (!TERMINAL.has(t.state)) actions.append(actionButton('Cancel', 'cancel', (b) => cancelTask(t.id, b), 'danger'));
  row = el('tr', { 'data-task-id': t.id, 'data-state': t.state }, el('td', { class: 'mono' }, taskLink(t.id)), ...Array.from({ length: 7 }, () => el('td')), actions);
  rows.set(t.id, row);
  return row;
}

function renderRows(tasks) {
  const now = Date.now();
  const list = tasks.map((t) => {
    const row = rowFor(t);
    const cells = row.children;
    const { text, cls } = note(t, now);
    cells[1].textContent = t.agent;
    cells[2].replaceChildren(stateBadge(t.state));
    cells[3].textContent = t.name ?? t.key ?? '';
    cells[4].textContent = t.attempt ?? '';
    cells[5].textContent = when(t.submittedAt, now);
    cells[6].textContent = typeof t.finishedAt === 'number' ? when(t.finishedAt, now) : '';
    cells[7].textContent = text;
    cells[7].className = cls;
    cells[7].dataset.testid = 'row-note';
    return row;
  });
  for (const id of rows.keys()) if (!tasks.some((t) => t.id === id)) rows.delete(id);
  const body = byId('task-list-rows');
  if (list.length !== body.children.length || list.some((r, i) => body.children[i] !== r)) body.replaceChildren(...list);
  byId('task-list-empty').hidden = list.length > 0;
}

function renderTabs(f, counts) {
  for (const state of STATES) {
    const tab = document.querySelector(`#state-tabs [data-state="${state}"]`);
    tab.href = filtersHash({ ...f, state, after: undefined });
    if (state === f.state) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
    tab.querySelector('.tab-count').textContent = counts === undefined ? '–' : count(state === 'all' ? counts.total : (counts.byState?.[state] ?? 0));
  }
}

const total = (f, counts) => (f.state === 'all' ? counts?.total : counts?.byState?.[f.state]);

function renderPager(f, tasks, counts) {
  const shownCount = Math.min(tasks.length, f.limit);
  const n = total(f, counts);
  const known = !f.after || trail.length > 0;
  const from = trail.length * f.limit + 1;
  byId('page-info').textContent =
    shownCount === 0 ? (f.after ? 'no more tasks' : '')
    : known ? `${count(from)}–${count(from + shownCount - 1)}${typeof n === 'number' ? ` of ${count(n)}` : ''}`
    : `${count(shownCount)} after ${shortId(f.after)}${typeof n === 'number' ? ` (${count(n)} in all)` : ''}`;
  byId('page-next').disabled = tasks.length <= f.limit;
  byId('page-next').dataset.after = tasks[f.limit - 1]?.id ?? '';
  byId('page-prev').disabled = !f.after;
  byId('page-first').disabled = !f.after;
}

function renderBulk(f, counts, scope) {
  const button = byId('redrive-all');
  const dead = counts?.byState?.dead ?? 0;
  button.hidden = f.state !== 'dead' || dead === 0;
  button.textContent = `Redrive all ${count(dead)} matching`;
  button.onclick = () => redriveAll(scope, dead, describeFilters(f), button);
}

function problem(text) {
  byId('task-list-problem').textContent = text ?? '';
  byId('task-list-problem').hidden = text === undefined;
}

async function load() {
  clearTimeout(timer);
  const mine = ++seq;
  const f = shown;
  const { params, problem: bad } = scopeParams(f);
  if (bad !== undefined) {
    problem(`Time range: ${bad} (try 15m, 2h, 12:30 or 2026-01-31 12:30).`);
    return;
  }
  try {
    const [counts, list] = await Promise.all([api(`/v1/tasks/counts${query(params)}`), api(`/v1/tasks${query(listParams(f, params))}`)]);
    if (mine !== seq || !active) return;
    problem(undefined);
    renderTabs(f, counts);
    renderRows(list.tasks.slice(0, f.limit));
    renderPager(f, list.tasks, counts);
    renderBulk(f, counts, params);
  } catch (err) {
    if (mine !== seq || !active) return;
    problem(`Cannot read the tasks: ${err.message}`);
  }
  if (active && mine === seq) timer = setTimeout(load, REFRESH_MS);
}

function fillForm(f) {
  const form = byId('task-filters');
  for (const k of ['search', 'agent', 'group', 'since', 'until']) form.elements[k].value = f[k] ?? '';
  form.elements.newest.checked = f.newest;
  if (![...form.elements.limit.options].some((o) => o.value === String(f.limit))) form.elements.limit.append(el('option', { value: f.limit }, `${f.limit} a page`));
  form.elements.limit.value = String(f.limit);
}

function readForm() {
  const form = byId('task-filters');
  const text = (k) => form.elements[k].value.trim() || undefined;
  return { state: shown?.state ?? 'all', search: text('search'), agent: text('agent'), group: text('group'), since: text('since'), until: text('until'), newest: form.elements.newest.checked, limit: Number(form.elements.limit.value) };
}

/** Shows the list for `hash` (`#/tasks?...`), or stops refreshing it when `hash` is undefined (another view). */
export function showTasks(hash) {
  active = hash !== undefined;
  if (!active) return void clearTimeout(timer);
  const f = readFilters(hash);
  const key = filtersHash({ ...f, after: undefined });
  if (key !== trailKey) [trailKey, trail] = [key, []];
  shown = f;
  fillForm(f);
  renderTabs(f, undefined);
  load();
}

/** The agents the agent filter suggests. */
export function setAgentNames(names) {
  const list = byId('agent-names');
  if (list.children.length === names.length && names.every((n, i) => list.children[i].value === n)) return;
  list.replaceChildren(...names.map((n) => el('option', { value: n })));
}

export function initTasks() {
  byId('state-tabs').replaceChildren(...STATES.map((s) => el('a', { class: 'tab', 'data-state': s, 'data-testid': `tab-${s}`, href: '#/tasks' }, `${s} `, el('span', { class: 'tab-count', 'data-testid': `count-${s}` }, '–'))));
  byId('filter-limit').replaceChildren(...PAGE_SIZES.map((n) => el('option', { value: n }, `${n} a page`)));
  const form = byId('task-filters');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = filtersHash(readForm());
  });
  for (const name of ['newest', 'limit']) form.elements[name].addEventListener('change', () => form.requestSubmit());
  byId('page-next').addEventListener('click', (e) => {
    trail.push(shown.after ?? '');
    location.hash = filtersHash({ ...shown, after: e.currentTarget.dataset.after });
  });
  byId('page-prev').addEventListener('click', () => (location.hash = filtersHash({ ...shown, after: trail.pop() || undefined })));
  byId('page-first').addEventListener('click', () => {
    trail = [];
    location.hash = filtersHash({ ...shown, after: undefined });
  });
  window.addEventListener('troupe:refresh', () => active && load());
}

// The task detail view, at `#/tasks/<id>`: what `GET /v1/tasks/:id` says of one task (refreshed while it is not
// over), its children (`/tree`), its workspace when it has one, and its output live (task-log.js). Opened from any
// task id on the page (`taskLink`) or the "open task" box. Task text is only ever set through textContent.

import { HttpError, api, brief, byId, clock, count, duration, el } from './util.js';
import { LogView } from './task-log.js';

const REFRESH_MS = 1000;
const TERMINAL = new Set(['succeeded', 'dead', 'cancelled']);
const MAX_CHILDREN = 100;
const MAX_FILES = 200;
const ROUTE = /^#\/tasks\/(.+)$/;

export const taskHref = (id) => `#/tasks/${encodeURIComponent(id)}`;

/** A link that opens the task's detail; `text` defaults to the id. */
export const taskLink = (id, text = id) => el('a', { href: taskHref(id), class: 'task-link', title: id }, text);

/** The task shown, or undefined on the overview. */
let current;
let logs;

/** A row of the facts list, left out when the value is absent. */
function fact(label, value, testId) {
  if (value === undefined || value === null || value === '') return [];
  return [el('dt', {}, label), el('dd', { 'data-testid': testId }, value)];
}

const when = (ms) => (typeof ms === 'number' ? `${clock(ms)} (${new Date(ms).toISOString().slice(0, 10)})` : undefined);
const counts = (c) => (c && typeof c === 'object' ? Object.entries(c).map(([state, n]) => `${n} ${state}`).join(', ') : undefined);
/** The nodes given, without the absent ones (replaceChildren would write "undefined"). */
const present = (...nodes) => nodes.filter((n) => n !== undefined && n !== null && n !== false);
const pre = (text, testId) => el('pre', { class: 'mono block', 'data-testid': testId }, text);

function renderFacts(task) {
  const ran = typeof task.startedAt === 'number' ? (task.finishedAt ?? Date.now()) - task.startedAt : undefined;
  const dependsOn = Array.isArray(task.dependsOn) && task.dependsOn.length > 0 ? el('span', {}, ...task.dependsOn.flatMap((d, i) => [i ? ', ' : '', taskLink(d)])) : undefined;
  byId('task-facts').replaceChildren(
    ...fact('State', el('span', { class: 'badge task-state', 'data-state': task.state }, task.state), 'task-state'),
    ...fact('Agent', task.agent, 'task-agent'),
    ...fact('Name', task.name ?? task.key),
    ...fact('Priority', task.priority),
    ...fact('Attempt', typeof task.attempt === 'number' ? `${task.attempt}${task.failures ? ` (${task.failures} failed)` : ''}` : undefined, 'task-attempt'),
    ...fact('Progress', task.progress === undefined ? undefined : brief(task.progress, 300), 'task-progress'),
    ...fact('Submitted', when(task.submittedAt)),
    ...fact('Started', when(task.startedAt)),
    ...fact('Finished', when(task.finishedAt)),
    ...fact(task.finishedAt === undefined ? 'Running for' : 'Ran for', ran === undefined ? undefined : duration(ran)),
    ...fact('Retry at', when(task.retryAt)),
    ...fact('Parent', task.parentId === undefined ? undefined : taskLink(task.parentId), 'task-parent'),
    ...fact('Children', counts(task.children), 'task-children-count'),
    ...fact('Bound tasks', counts(task.bound)),
    ...fact('Depends on', dependsOn),
    ...fact('Group', task.group),
    ...fact('Graph', task.graph),
    ...fact('Resources', Array.isArray(task.resources) && task.resources.length > 0 ? task.resources.join(', ') : undefined),
    ...fact('Held by', task.heldBy ? `${task.heldBy.breaker} (${task.heldBy.state})` : undefined),
    ...fact('Cancelled', task.cancelReason),
  );
}

function renderOutcome(task) {
  const error = task.error;
  const errorBox = byId('task-error');
  errorBox.hidden = error === undefined;
  if (error !== undefined) {
    const facts = [error.code, typeof error.exitCode === 'number' ? `exit code ${error.exitCode}` : undefined, error.signal ? `signal ${error.signal}` : undefined];
    errorBox.replaceChildren(
      ...present(
        el('h3', {}, 'Error'),
        el('p', { class: 'error', 'data-testid': 'task-error-message' }, `${error.name ?? 'Error'}: ${error.message ?? brief(error)}`),
        facts.some(Boolean) ? el('p', { class: 'muted' }, facts.filter(Boolean).join(', ')) : undefined,
        error.stderrTail ? pre(error.stderrTail) : undefined,
      ),
    );
  }
  const resultBox = byId('task-result');
  resultBox.hidden = task.result === undefined;
  if (task.result !== undefined) resultBox.replaceChildren(el('h3', {}, 'Result'), pre(brief(task.result, 4000), 'task-result-value'));
  const history = Array.isArray(task.history) ? task.history : [];
  byId('task-history').hidden = history.length === 0;
  byId('task-history-rows').replaceChildren(
    ...history.map((h) =>
      el('tr', {}, el('td', {}, h.attempt), el('td', {}, clock(h.startedAt)), el('td', {}, duration(h.durationMs)), el('td', { class: 'error' }, h.interrupted ?? brief(h.error?.message ?? h.error ?? '', 200))),
    ),
  );
}

/** The workspace another part of Troupe may record on a task: whatever of it is present. */
function renderWorkspace(ws) {
  const box = byId('task-workspace');
  box.hidden = ws === undefined || ws === null;
  if (box.hidden) return;
  const known = ['path', 'branch', 'base', 'head'];
  const files = Array.isArray(ws.changedFiles) ? ws.changedFiles : undefined;
  const other = typeof ws === 'object' ? Object.entries(ws).filter(([k]) => !known.includes(k) && k !== 'changedFiles') : [['value', ws]];
  box.replaceChildren(
    ...present(
      el('h3', {}, 'Workspace'),
      el(
        'dl',
        { class: 'facts' },
        ...known.flatMap((k) => fact(k, ws[k] === undefined ? undefined : brief(ws[k], 300), `workspace-${k}`)),
        ...other.flatMap(([k, v]) => fact(k, brief(v, 300), `workspace-${k}`)),
        ...fact('changed files', files === undefined ? undefined : count(files.length)),
      ),
      files?.length > 0 ? el('ul', { class: 'mono files', 'data-testid': 'workspace-files' }, ...files.slice(0, MAX_FILES).map((f) => el('li', {}, brief(f, 300)))) : undefined,
      files?.length > MAX_FILES ? el('p', { class: 'muted' }, `and ${count(files.length - MAX_FILES)} more`) : undefined,
    ),
  );
}

async function renderChildren(task) {
  const box = byId('task-children');
  if (!task.children && !task.bound) return void (box.hidden = true);
  const tree = await api(`/v1/tasks/${encodeURIComponent(task.id)}/tree`);
  const kids = tree.children ?? [];
  box.hidden = kids.length === 0;
  byId('task-children-rows').replaceChildren(
    ...kids.slice(0, MAX_CHILDREN).map(({ task: t }) =>
      el('tr', { 'data-task-id': t.id }, el('td', { class: 'mono' }, taskLink(t.id)), el('td', {}, t.agent), el('td', {}, el('span', { class: 'badge task-state', 'data-state': t.state }, t.state))),
    ),
  );
  byId('task-children-more').textContent = kids.length > MAX_CHILDREN ? `and ${count(kids.length - MAX_CHILDREN)} more` : '';
}

/** The attempt selector: every attempt, or one; shown once there is more than one. */
function renderAttempts(task) {
  const select = byId('log-attempt');
  const last = Math.max(1, task.attempt ?? 1, ...(task.history ?? []).map((h) => h.attempt ?? 0));
  for (let n = select.options.length; n <= last; n += 1) select.append(el('option', { value: n }, `attempt ${n}`));
  byId('log-attempt-label').hidden = last < 2;
}

async function refresh(view) {
  let task;
  try {
    task = await api(`/v1/tasks/${encodeURIComponent(view.id)}`);
  } catch (err) {
    if (view !== current) return;
    const unknown = err instanceof HttpError && err.status === 404;
    byId('task-problem').textContent = unknown ? `No task has the id ${view.id}.` : `Cannot read the task: ${err.message}`;
    byId('task-problem').hidden = false;
    if (!unknown) view.timer = setTimeout(() => refresh(view), REFRESH_MS * 3);
    return;
  }
  if (view !== current) return;
  byId('task-problem').hidden = true;
  byId('task-body').hidden = false;
  renderFacts(task);
  renderOutcome(task);
  renderWorkspace(task.workspace);
  renderAttempts(task);
  await renderChildren(task).catch(() => undefined);
  if (view !== current) return;
  if (!view.following) {
    view.following = true;
    logs.follow(view.id, undefined);
  }
  if (!TERMINAL.has(task.state)) view.timer = setTimeout(() => refresh(view), REFRESH_MS);
}

function open(id) {
  if (current?.id === id) return;
  close();
  current = { id, timer: undefined, following: false };
  document.body.dataset.view = 'task';
  byId('task-detail').hidden = false;
  byId('task-id').textContent = id;
  byId('task-body').hidden = true;
  byId('task-problem').hidden = true;
  logs.clear();
  const select = byId('log-attempt');
  select.replaceChildren(el('option', { value: '' }, 'all attempts'));
  byId('log-attempt-label').hidden = true;
  window.scrollTo(0, 0);
  refresh(current);
}

function close() {
  if (current === undefined) return;
  clearTimeout(current.timer);
  logs.stop();
  current = undefined;
  delete document.body.dataset.view;
  byId('task-detail').hidden = true;
}

function route() {
  const match = ROUTE.exec(location.hash);
  let id;
  try {
    id = match ? decodeURIComponent(match[1]) : undefined;
  } catch {
    id = undefined;
  }
  if (id === undefined || id === '') close();
  else open(id);
}

/** Wires the view to the address, the "open task" box and the attempt selector. */
export function initTaskDetail() {
  logs = new LogView({ box: byId('log-lines'), status: byId('log-status'), note: byId('log-note'), jump: byId('log-jump') });
  byId('log-attempt').addEventListener('change', (e) => {
    if (current) logs.follow(current.id, e.target.value === '' ? undefined : Number(e.target.value));
  });
  byId('open-task').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = byId('open-task-id');
    const id = input.value.trim();
    if (id === '') return;
    input.value = '';
    location.hash = taskHref(id);
  });
  window.addEventListener('hashchange', route);
  route();
}

// The task detail view, at `#/tasks/<id>`: what `GET /v1/tasks/:id?include=input` says of one task (refreshed while
// it is not over): its facts and why it waits, its input, result or error, its attempts as a timeline (task-parts.js),
// its children (`/tree`), its workspace when it has one, its output live (task-log.js), and cancel / redrive. Opened from any
// task id on the page (`taskLink`) or the "open task" box. Task text is only ever set through textContent.

import { HttpError, api, brief, byId, count, duration, el, stamp, stateBadge, waitText } from './util.js';
import { LogView } from './task-log.js';
import { fact, renderChildren, renderInput, renderOutcome, renderTimeline, renderWorkspace } from './task-parts.js';
import { actionButton, cancelTask, redriveTask } from './actions.js';

const REFRESH_MS = 1000;
const TERMINAL = new Set(['succeeded', 'dead', 'cancelled']);
const ROUTE = /^#\/tasks\/(.+)$/;

export const taskHref = (id) => `#/tasks/${encodeURIComponent(id)}`;

/** A link that opens the task's detail; `text` defaults to the id. */
export const taskLink = (id, text = id) => el('a', { href: taskHref(id), class: 'task-link', title: id }, text);

/** The task shown, or undefined on the overview. */
let current;
let logs;

const when = (ms) => (typeof ms === 'number' ? stamp(ms) : undefined);
const counts = (c) => (c && typeof c === 'object' ? Object.entries(c).map(([state, n]) => `${n} ${state}`).join(', ') : undefined);
const links = (ids) => el('span', {}, ...ids.flatMap((d, i) => [i ? ', ' : '', taskLink(d)]));

/** Why the task does not run yet, in words (parents as links); the older `heldBy` when the daemon has no `waiting`. */
function waiting(task) {
  const w = task.waiting ?? (task.heldBy ? { for: 'breaker', ...task.heldBy } : undefined);
  if (w === undefined || task.state === 'running' || TERMINAL.has(task.state)) return undefined;
  if (w.for === 'parents' && Array.isArray(w.parents)) return el('span', {}, `waiting for ${w.parents.length === 1 ? 'its parent' : `${w.parents.length} parents`} to succeed: `, links(w.parents));
  return waitText(w);
}

function renderFacts(task) {
  const ran = typeof task.startedAt === 'number' ? (task.finishedAt ?? Date.now()) - task.startedAt : undefined;
  const dependsOn = Array.isArray(task.dependsOn) && task.dependsOn.length > 0 ? links(task.dependsOn) : undefined;
  byId('task-facts').replaceChildren(
    ...fact('State', el('span', { class: 'badge task-state', 'data-state': task.state }, task.state), 'task-state'),
    ...fact('Waiting', waiting(task), 'task-waiting'),
    ...fact('Agent', task.agent, 'task-agent'),
    ...fact('Name', task.name ?? task.key, 'task-name'),
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
    ...fact('Group', task.group, 'task-group'),
    ...fact('Graph', task.graph),
    ...fact('Resources', Array.isArray(task.resources) && task.resources.length > 0 ? task.resources.join(', ') : undefined),
    ...fact('Cancelled', task.cancelReason),
  );
}

/** The buttons the task's state allows: cancel while it is not over, redrive when dead. */
function renderActions(task) {
  const box = byId('task-actions');
  if (box.dataset.state === task.state) return;
  box.dataset.state = task.state;
  box.replaceChildren(
    ...(task.state === 'dead' ? [actionButton('Redrive', 'task-redrive', (b) => redriveTask(task.id, b))] : []),
    ...(TERMINAL.has(task.state) ? [] : [actionButton('Cancel task', 'task-cancel', (b) => cancelTask(task.id, b), 'danger')]),
  );
}

/** The attempt selector: every attempt, or one; shown once there is more than one. */
function renderAttempts(task) {
  const select = byId('log-attempt');
  const last = Math.max(1, task.attempt ?? 1, ...(task.history ?? []).map((h) => h.attempt ?? 0));
  for (let n = select.options.length; n <= last; n += 1) select.append(el('option', { value: n }, `attempt ${n}`));
  byId('log-attempt-label').hidden = last < 2;
}

/** A read that a newer one (after an action) or another task replaced. */
const stale = (view, gen) => view !== current || gen !== view.gen;

async function refresh(view, gen = ++view.gen) {
  let task;
  try {
    task = await api(`/v1/tasks/${encodeURIComponent(view.id)}?include=input`);
  } catch (err) {
    if (stale(view, gen)) return;
    const unknown = err instanceof HttpError && err.status === 404;
    byId('task-problem').textContent = unknown ? `No task has the id ${view.id}.` : `Cannot read the task: ${err.message}`;
    byId('task-problem').hidden = false;
    if (!unknown) view.timer = setTimeout(() => refresh(view, gen), REFRESH_MS * 3);
    return;
  }
  if (stale(view, gen)) return;
  byId('task-problem').hidden = true;
  byId('task-body').hidden = false;
  renderFacts(task);
  renderActions(task);
  renderInput(task);
  renderOutcome(task);
  renderTimeline(task);
  renderWorkspace(task.workspace);
  renderAttempts(task);
  await renderChildren(task, taskLink).catch(() => undefined);
  if (stale(view, gen)) return;
  // Followed from the start, and again when a task that was over runs again (redriven): its new attempt's output.
  if (!view.following || (TERMINAL.has(view.state) && !TERMINAL.has(task.state))) {
    view.following = true;
    logs.follow(view.id, byId('log-attempt').value === '' ? undefined : Number(byId('log-attempt').value));
  }
  view.state = task.state;
  if (!TERMINAL.has(task.state)) view.timer = setTimeout(() => refresh(view, gen), REFRESH_MS);
}

function open(id) {
  if (current?.id === id) return;
  close();
  current = { id, timer: undefined, following: false, state: undefined, gen: 0 };
  byId('task-actions').replaceChildren();
  delete byId('task-actions').dataset.state;
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
  // After an action: read the task again now (and follow it again when it was over).
  window.addEventListener('troupe:refresh', () => {
    if (current === undefined) return;
    clearTimeout(current.timer);
    refresh(current);
  });
  route();
}

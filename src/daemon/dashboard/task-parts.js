// The parts of the task detail below its facts: the input, the result or error, the attempts as a timeline, the
// workspace and the children. Each renders one task as `GET /v1/tasks/:id?include=input` returns it. Task text is
// only ever set through textContent.

import { api, brief, byId, clock, count, duration, el, full, stateBadge } from './util.js';

const MAX_CHILDREN = 100;
const MAX_FILES = 200;
const MAX_TEXT = 20_000;

/** A row of a facts list, left out when the value is absent. */
export function fact(label, value, testId) {
  if (value === undefined || value === null || value === '') return [];
  return [el('dt', {}, label), el('dd', { 'data-testid': testId }, value)];
}

/** The nodes given, without the absent ones (replaceChildren would write "undefined"). */
const present = (...nodes) => nodes.filter((n) => n !== undefined && n !== null && n !== false);
const pre = (text, testId) => el('pre', { class: 'mono block', 'data-testid': testId }, text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n… (${count(text.length - MAX_TEXT)} more characters)` : text);

/** A box shown with its heading and value, or hidden when the value is absent. */
function boxOf(id, heading, value, testId) {
  const box = byId(id);
  box.hidden = value === undefined;
  if (!box.hidden) box.replaceChildren(el('h3', {}, heading), pre(full(value), testId));
}

export function renderInput(task) {
  boxOf('task-input', 'Input', task.input, 'task-input-value');
}

export function renderOutcome(task) {
  const error = task.error;
  const errorBox = byId('task-error');
  errorBox.hidden = error === undefined;
  if (error !== undefined) {
    const facts = [error.code, typeof error.exitCode === 'number' ? `exit code ${error.exitCode}` : undefined, error.signal ? `signal ${error.signal}` : undefined];
    errorBox.replaceChildren(
      ...present(
        el('h3', {}, task.state === 'succeeded' ? 'Error of an earlier attempt' : 'Error'),
        el('p', { class: 'error', 'data-testid': 'task-error-message' }, `${error.name ?? 'Error'}: ${error.message ?? brief(error)}`),
        facts.some(Boolean) ? el('p', { class: 'muted' }, facts.filter(Boolean).join(', ')) : undefined,
        error.stderrTail ? pre(error.stderrTail) : undefined,
      ),
    );
  }
  boxOf('task-result', 'Result', task.result, 'task-result-value');
  boxOf('task-checkpoint', 'Checkpoint', task.checkpoint, 'task-checkpoint-value');
}

/** Every run of the task: the failed and interrupted ones (`history`), then the last one (running or over). */
export function attempts(task, now = Date.now()) {
  const runs = (Array.isArray(task.history) ? task.history : []).map((h) => ({
    attempt: h.attempt,
    startedAt: h.startedAt,
    endedAt: h.endedAt,
    ms: h.durationMs ?? h.endedAt - h.startedAt,
    outcome: h.interrupted ? 'interrupted' : 'failed',
    detail: h.interrupted ?? (h.error ? `${h.error.code ? `${h.error.code}: ` : ''}${h.error.message ?? brief(h.error, 200)}` : ''),
  }));
  const last = runs.at(-1);
  if (typeof task.startedAt === 'number' && !(last && last.startedAt === task.startedAt)) {
    const over = typeof task.finishedAt === 'number';
    const endedAt = over ? task.finishedAt : undefined;
    const outcome = task.state === 'running' ? 'running' : task.state;
    runs.push({ attempt: task.attempt, startedAt: task.startedAt, endedAt, ms: (endedAt ?? now) - task.startedAt, outcome, detail: task.state === 'cancelled' ? (task.cancelReason ?? '') : '' });
  }
  return runs;
}

/** The attempts as a timeline: one row each, a bar placed on the span from submission to the last end. */
export function renderTimeline(task, now = Date.now()) {
  const runs = attempts(task, now);
  const box = byId('task-history');
  box.hidden = runs.length === 0;
  if (box.hidden) return;
  const from = Math.min(task.submittedAt ?? Infinity, ...runs.map((r) => r.startedAt));
  const to = Math.max(from + 1, ...runs.map((r) => r.endedAt ?? now));
  const pct = (ms) => `${(((ms - from) / (to - from)) * 100).toFixed(2)}%`;
  byId('task-history-list').replaceChildren(
    ...runs.map((r) => {
      const bar = el('div', { class: 'bar', 'data-outcome': r.outcome });
      bar.style.left = pct(r.startedAt);
      bar.style.width = `max(2px, calc(${pct(r.endedAt ?? now)} - ${pct(r.startedAt)}))`;
      return el(
        'li',
        { 'data-attempt': r.attempt, 'data-outcome': r.outcome },
        el('div', { class: 'run-head' }, el('strong', {}, `Attempt ${r.attempt}`), ' ', el('span', { class: 'badge task-state', 'data-state': r.outcome }, r.outcome)),
        el('div', { class: 'run-times', 'data-testid': 'run-times' }, `${clock(r.startedAt)} → ${r.endedAt === undefined ? 'now' : clock(r.endedAt)} · ${duration(r.ms)}`),
        el('div', { class: 'track' }, bar),
        r.detail ? el('div', { class: r.outcome === 'cancelled' ? 'muted' : 'error', 'data-testid': 'run-detail' }, brief(r.detail, 400)) : '',
      );
    }),
  );
}

/** The workspace another part of Troupe may record on a task: whatever of it is present. */
export function renderWorkspace(ws) {
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

export async function renderChildren(task, taskLink) {
  const box = byId('task-children');
  if (!task.children && !task.bound) return void (box.hidden = true);
  const tree = await api(`/v1/tasks/${encodeURIComponent(task.id)}/tree`);
  const kids = tree.children ?? [];
  box.hidden = kids.length === 0;
  byId('task-children-rows').replaceChildren(
    ...kids.slice(0, MAX_CHILDREN).map(({ task: t }) => el('tr', { 'data-task-id': t.id }, el('td', { class: 'mono' }, taskLink(t.id)), el('td', {}, t.agent), el('td', {}, stateBadge(t.state)))),
  );
  byId('task-children-more').textContent = kids.length > MAX_CHILDREN ? `and ${count(kids.length - MAX_CHILDREN)} more` : '';
}

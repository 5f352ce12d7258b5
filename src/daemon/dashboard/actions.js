// The actions the console offers, each behind a confirmation dialog of the page's own (a <dialog>, not
// window.confirm, so that a test drives it like a person): cancel a task, redrive one dead task or every dead task
// matching the filters, force a breaker open or closed, pause or resume an agent's intake. Each shows its outcome
// (or the error's message) in the notice strip, then asks every view to refresh (the `troupe:refresh` event).

import { api, byId, count, el, shortId } from './util.js';

const NOTICE_MS = 8000;

/** Shows the dialog; resolves true when confirmed, false when cancelled (button, Escape or backdrop). */
export function confirmDialog({ title, text, ok }) {
  const dialog = byId('confirm');
  byId('confirm-title').textContent = title;
  byId('confirm-text').textContent = text;
  byId('confirm-ok').textContent = ok;
  return new Promise((resolve) => {
    const done = (answer) => {
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onClose = () => done(dialog.returnValue === 'ok');
    dialog.returnValue = '';
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    byId('confirm-cancel').focus();
  });
}

let noticeTimer;

/** The outcome of an action, in the strip under the header. */
export function notice(text, state = 'ok') {
  const strip = byId('notice');
  strip.dataset.state = state;
  strip.textContent = text;
  strip.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (strip.hidden = true), state === 'ok' ? NOTICE_MS : NOTICE_MS * 3);
}

export const refreshViews = () => window.dispatchEvent(new Event('troupe:refresh'));

/** Confirms, runs, reports, refreshes; a button given is disabled while the action runs. */
async function act({ title, text, ok, run, outcome, button }) {
  if (!(await confirmDialog({ title, text, ok }))) return false;
  if (button) button.disabled = true;
  try {
    notice(outcome(await run()), 'ok');
    return true;
  } catch (err) {
    notice(`${title} failed: ${err.message}`, 'error');
    return false;
  } finally {
    if (button) button.disabled = false;
    refreshViews();
  }
}

const path = (s) => encodeURIComponent(s);

export const cancelTask = (id, button) =>
  act({
    title: 'Cancel task',
    text: `Cancel task ${id}? A running task is stopped; a waiting one never starts.`,
    ok: 'Cancel task',
    button,
    run: () => api(`/v1/tasks/${path(id)}/cancel`, { method: 'POST', body: { reason: 'cancelled from the dashboard' } }),
    outcome: (r) => (r.cancelled ? `Task ${shortId(id)} cancelled.` : `Task ${shortId(id)} was not cancelled: it had ended already.`),
  });

export const redriveTask = (id, button) =>
  act({
    title: 'Redrive task',
    text: `Redrive dead task ${id}? It is queued again with its input.`,
    ok: 'Redrive',
    button,
    run: () => api('/v1/dead-letters/redrive', { method: 'POST', body: { ids: [id] } }),
    outcome: () => `Task ${shortId(id)} redriven: queued again.`,
  });

/** `filters`: agent, group, search, since, until (epoch ms); `n`: how many match now; `describe`: the filters in words, or ''. */
export const redriveAll = (filters, n, describe, button) =>
  act({
    title: 'Redrive all',
    text: `Redrive every dead task${describe ? ` matching ${describe}` : ''} (${count(n)} now)? Each is queued again with its input.`,
    ok: `Redrive ${count(n)}`,
    button,
    run: () => api('/v1/dead-letters/redrive', { method: 'POST', body: { all: true, ...filters } }),
    outcome: (r) => `${count(r.ids?.length ?? 0)} dead ${r.ids?.length === 1 ? 'task' : 'tasks'} redriven.`,
  });

export const forceBreaker = (key, state, button) =>
  act({
    title: `Force breaker ${state}`,
    text:
      state === 'open'
        ? `Force breaker ${key} open? Its tasks stay queued until it is closed again.`
        : `Force breaker ${key} closed? Its tasks start again at once.`,
    ok: state === 'open' ? 'Force open' : 'Force closed',
    button,
    run: () => api(`/v1/breakers/${path(key)}`, { method: 'PUT', body: { state } }),
    outcome: (r) => `Breaker ${key} is ${r.breaker?.state ?? state}${r.breaker?.forced ? ' (forced)' : ''}.`,
  });

export const setIntake = (agent, pause, button) =>
  act({
    title: pause ? 'Pause agent' : 'Resume agent',
    text: pause
      ? `Pause agent ${agent}'s intake? Its queued tasks do not start (running ones finish); submissions are still accepted.`
      : `Resume agent ${agent}'s intake? Its queued tasks start again.`,
    ok: pause ? 'Pause' : 'Resume',
    button,
    run: () => api(`/v1/agents/${path(agent)}/${pause ? 'pause' : 'resume'}`, { method: 'POST', body: {} }),
    outcome: (r) => `Agent ${agent} ${r.paused ? 'paused: its queued tasks wait' : 'resumed: its queued tasks start'}.`,
  });

/** A small action button; `onClick` gets the button (disabled while its action runs). */
export function actionButton(label, testId, onClick, kind = '') {
  const button = el('button', { type: 'button', class: `act ${kind}`.trim(), 'data-testid': testId }, label);
  button.addEventListener('click', () => onClick(button));
  return button;
}

/** Wires the dialog's buttons (once). */
export function initActions() {
  const dialog = byId('confirm');
  byId('confirm-cancel').addEventListener('click', () => dialog.close(''));
  byId('confirm-ok').addEventListener('click', () => dialog.close('ok'));
  dialog.addEventListener('click', (e) => e.target === dialog && dialog.close(''));
}

// The overview's control panels: the agents (`GET /v1/agents`: queued, running, paused) with pause / resume of their
// intake, and the breakers (`GET /v1/breakers`) with force open / force closed. Rows are rebuilt only when what their
// buttons do changes, so that a button is never swapped under a click; their figures are updated in place.

import { byId, clock, count, el, fillTable } from './util.js';
import { actionButton, forceBreaker, setIntake } from './actions.js';
import { filtersHash } from './filters.js';

const agentRows = new Map();

function agentRow(name, a) {
  const sig = String(Boolean(a.paused));
  let row = agentRows.get(name);
  if (row?.dataset.sig === sig) return row;
  const button = a.paused
    ? actionButton('Resume', 'agent-resume', (b) => setIntake(name, false, b))
    : actionButton('Pause', 'agent-pause', (b) => setIntake(name, true, b), 'danger');
  const link = el('a', { class: 'task-link', href: filtersHash({ agent: name }), title: `the tasks of ${name}` }, name);
  row = el('tr', { 'data-agent': name, 'data-sig': sig }, el('td', { class: 'mono nowrap' }, link), el('td'), el('td'), el('td'), el('td'), el('td', { class: 'actions' }, button));
  agentRows.set(name, row);
  return row;
}

/** `agents`: name → { kind, paused, queued, running, concurrency }. */
export function renderAgents(agents) {
  const names = Object.keys(agents).sort();
  const rows = names.map((name) => {
    const a = agents[name];
    const row = agentRow(name, a);
    const cells = row.children;
    cells[1].textContent = a.kind ?? '';
    cells[2].textContent = count(a.queued);
    cells[3].textContent = typeof a.concurrency === 'number' ? `${count(a.running)} of ${count(a.concurrency)}` : count(a.running);
    cells[4].replaceChildren(el('span', { class: `badge ${a.paused ? 'state-open' : 'state-closed'}`, 'data-testid': 'agent-intake' }, a.paused ? 'paused' : 'open'));
    return row;
  });
  for (const name of agentRows.keys()) if (!(name in agents)) agentRows.delete(name);
  const body = byId('agent-rows');
  if (rows.length !== body.children.length || rows.some((r, i) => body.children[i] !== r)) fillTable('agent-rows', 'agents-empty', rows);
  return names;
}

const breakerRows = new Map();

function breakerRow(key, b) {
  const sig = `${b.state}/${Boolean(b.forced)}`;
  let row = breakerRows.get(key);
  if (row?.dataset.sig === sig) return row;
  const buttons = [];
  if (b.state !== 'open' || !b.forced) buttons.push(actionButton('Force open', 'breaker-open', (btn) => forceBreaker(key, 'open', btn), 'danger'));
  if (b.state !== 'closed') buttons.push(actionButton('Force closed', 'breaker-close', (btn) => forceBreaker(key, 'closed', btn)));
  row = el('tr', { 'data-breaker': key, 'data-sig': sig }, el('td', { class: 'mono' }, key), el('td'), el('td'), el('td'), el('td', { class: 'actions' }, ...buttons));
  breakerRows.set(key, row);
  return row;
}

export function renderBreakers(breakers) {
  const rows = Object.entries(breakers).map(([key, b]) => {
    const row = breakerRow(key, b);
    const cells = row.children;
    cells[1].replaceChildren(el('span', { class: `badge state-${b.state}` }, b.forced ? `${b.state} (forced)` : b.state));
    cells[2].textContent = b.openedAt === null || b.openedAt === undefined ? '–' : clock(b.openedAt);
    cells[3].textContent = b.halfOpenAt === null || b.halfOpenAt === undefined ? '–' : clock(b.halfOpenAt);
    return row;
  });
  for (const key of breakerRows.keys()) if (!(key in breakers)) breakerRows.delete(key);
  const body = byId('breaker-rows');
  if (rows.length !== body.children.length || rows.some((r, i) => body.children[i] !== r)) fillTable('breaker-rows', 'breakers-empty', rows);
}

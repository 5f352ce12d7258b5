// The task list's filters, kept in the address (`#/tasks?state=dead&search=timeout&limit=10&after=<id>`) so that a
// view can be linked and reloaded: reading them from the hash, writing them back, and turning them into the API's
// query (`GET /v1/tasks`, `GET /v1/tasks/counts`, the redrive-all body).

import { parseWhen } from './format.js';

export const STATES = ['all', 'queued', 'running', 'delayed', 'blocked', 'succeeded', 'dead', 'cancelled'];
export const PAGE_SIZES = [10, 25, 50, 100];
const DEFAULT_LIMIT = 25;

/** The filters in `hash` (`#/tasks?...`); absent ones take their defaults (all states, newest first). */
export function readFilters(hash) {
  const i = hash.indexOf('?');
  const q = new URLSearchParams(i === -1 ? '' : hash.slice(i + 1));
  const text = (k) => q.get(k)?.trim() || undefined;
  const state = STATES.includes(q.get('state')) ? q.get('state') : 'all';
  const limit = Number(q.get('limit'));
  return {
    state,
    agent: text('agent'),
    group: text('group'),
    search: text('search'),
    since: text('since'),
    until: text('until'),
    newest: q.get('newest') !== '0',
    limit: Number.isInteger(limit) && limit >= 1 && limit <= 1000 ? limit : DEFAULT_LIMIT,
    after: text('after'),
  };
}

/** The address of the list with `filters`; defaults are left out, so the plain list is `#/tasks`. */
export function filtersHash(f) {
  const q = new URLSearchParams();
  if (f.state && f.state !== 'all') q.set('state', f.state);
  for (const k of ['agent', 'group', 'search', 'since', 'until']) if (f[k]) q.set(k, f[k]);
  if (f.newest === false) q.set('newest', '0');
  if (f.limit && f.limit !== DEFAULT_LIMIT) q.set('limit', String(f.limit));
  if (f.after) q.set('after', f.after);
  const text = q.toString();
  return text === '' ? '#/tasks' : `#/tasks?${text}`;
}

/** The filters the state tabs, counts and redrive-all share (no state, order or page); `problem` names an unreadable time. */
export function scopeParams(f, now = Date.now()) {
  const since = parseWhen(f.since, now);
  const until = parseWhen(f.until, now);
  const problem = Number.isNaN(since) ? `"${f.since}" is not a time` : Number.isNaN(until) ? `"${f.until}" is not a time` : undefined;
  return { params: { agent: f.agent, group: f.group, search: f.search, since, until }, problem };
}

/** The query of one page of the list: the scope, the state, the order, one more task than shown (is there a next page?). */
export function listParams(f, scope) {
  return { ...scope, state: f.state === 'all' ? undefined : f.state, newest: f.newest ? 1 : undefined, limit: f.limit + 1, after: f.after };
}

/** The filters in words, for the redrive-all dialog; '' when there are none. */
export function describeFilters(f) {
  const parts = [];
  if (f.agent) parts.push(`agent ${f.agent}`);
  if (f.group) parts.push(`group ${f.group}`);
  if (f.search) parts.push(`text "${f.search}"`);
  if (f.since) parts.push(`since ${f.since}`);
  if (f.until) parts.push(`until ${f.until}`);
  return parts.join(', ');
}

// Helpers shared by the dashboard's modules: same-origin JSON requests, DOM building; formatting is in format.js.
// Task-provided text only ever becomes text nodes (textContent), never markup.

/* ---------- HTTP ---------- */

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  const res = await fetch(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
  const payload = await res.json().catch(() => undefined);
  if (!res.ok) throw new HttpError(res.status, payload?.error?.message ?? `${method} ${path}: HTTP ${res.status}`);
  return payload;
}

/* ---------- DOM helpers ---------- */

export const byId = (id) => document.getElementById(id);

/** An element with attributes and children; strings become text nodes, never markup. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(name, String(value));
  node.append(...children.filter((c) => c !== undefined && c !== null).map((c) => (c instanceof Node ? c : String(c))));
  return node;
}

/** Replaces a table body's rows; shows its "empty" note when there are none. */
export function fillTable(tbodyId, emptyId, rows) {
  byId(tbodyId).replaceChildren(...rows);
  byId(emptyId).hidden = rows.length > 0;
}

/** A query string of the entries that are set (not undefined, null or ''). */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

/** A <span class="badge task-state"> for a task state. */
export const stateBadge = (state) => el('span', { class: 'badge task-state', 'data-state': state }, state);

/* ---------- Formatting (format.js, pure) ---------- */

export * from './format.js';

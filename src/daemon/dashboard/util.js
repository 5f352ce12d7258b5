// Helpers shared by the dashboard's modules: same-origin JSON requests, DOM building, formatting.
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

/* ---------- Formatting ---------- */

export const count = (n) => (typeof n === 'number' ? n.toLocaleString('en') : '–');
export const clock = (ms) => (typeof ms === 'number' ? new Date(ms).toLocaleTimeString('en-GB') : '–');

export function duration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/** Ids are long UUIDs: a narrow column shows their start, the full id is in the tooltip. */
export const shortId = (id) => (id.length > 13 ? `${id.slice(0, 8)}…` : id);

export const rate = (n) => (typeof n === 'number' ? (n >= 10 ? n.toFixed(0) : n.toFixed(1)) : '–');

/** JSON for display, shortened: progress and errors may be large. */
export function brief(value, max = 120) {
  let text;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text === undefined ? '' : text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// Pure formatting for the dashboard (no DOM): numbers, durations, one 24-hour time format for the whole page, the
// charts' axis labels, the reason a task waits, and the time-range filter's input. Unit-tested in Node.

/* ---------- Numbers ---------- */

export const count = (n) => (typeof n === 'number' ? n.toLocaleString('en') : '–');
export const rate = (n) => (typeof n === 'number' ? (n >= 10 ? n.toFixed(0) : n.toFixed(1)) : '–');

export function duration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/* ---------- Times: 24-hour, local, one format across the page ---------- */

const two = (n) => String(n).padStart(2, '0');

/** `HH:MM:SS`, local time, 24-hour: the header clock, the charts' time axis, every time of day on the page. */
export function clock(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** `YYYY-MM-DD HH:MM:SS`, local time: where the day matters (a task's submission, the time-range filter). */
export function stamp(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${clock(ms)}`;
}

/** A time as the page shows it: the time of day when it is today, with the date otherwise. */
export const when = (ms, now = Date.now()) =>
  typeof ms !== 'number' ? '–' : new Date(ms).toDateString() === new Date(now).toDateString() ? clock(ms) : stamp(ms);

const UNITS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The time-range filter's text as epoch ms, or undefined when empty; NaN when unreadable. Accepts a
 * span before now (`15m`, `2h`, `1d`, `30s`), a time today (`HH:MM[:SS]`), or a local date and time
 * (`YYYY-MM-DD[ HH:MM[:SS]]`, a `T` also taken as the separator).
 */
export function parseWhen(text, now = Date.now()) {
  const t = String(text ?? '').trim();
  if (t === '') return undefined;
  let m = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(t);
  if (m) return now - Number(m[1]) * UNITS[m[2]];
  m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t);
  if (m) {
    const d = new Date(now);
    d.setHours(Number(m[1]), Number(m[2]), Number(m[3] ?? 0), 0);
    return valid(d, m[1] < 24 && m[2] < 60 && (m[3] ?? 0) < 60);
  }
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(t);
  if (m) {
    const [y, mo, da, h = 0, mi = 0, s = 0] = m.slice(1).map((v) => (v === undefined ? undefined : Number(v)));
    const d = new Date(y, mo - 1, da, h, mi, s, 0);
    return valid(d, d.getMonth() === mo - 1 && d.getDate() === da && h < 24 && mi < 60 && s < 60);
  }
  return Number.NaN;
}

const valid = (d, ok) => (ok ? d.getTime() : Number.NaN);

/* ---------- Charts' axes ---------- */

/** The time axis (uPlot gives seconds): `HH:MM:SS`, like the header clock. */
export const timeLabels = (splits) => splits.map((s) => (s === null || s === undefined ? '' : clock(s * 1000)));

/** The unit a latency axis reads in, from the largest value it shows: ms below 2 s, s below 2 min, min above. */
export function latencyUnit(maxMs) {
  if (!(maxMs >= 2000)) return { unit: 'ms', per: 1 };
  if (maxMs < 120_000) return { unit: 's', per: 1000 };
  return { unit: 'min', per: 60_000 };
}

/** Latency axis labels (values in ms), all in the one unit the axis' largest value calls for. */
export function latencyLabels(splits) {
  const max = Math.max(0, ...splits.filter((v) => typeof v === 'number'));
  const { unit, per } = latencyUnit(max);
  const step = splits.length > 1 ? Math.abs(splits[1] - splits[0]) / per : 1;
  const digits = step >= 1 || step === 0 ? 0 : Math.min(3, Math.ceil(-Math.log10(step)));
  return splits.map((v) => (typeof v === 'number' ? `${trim((v / per).toFixed(digits))} ${unit}` : ''));
}

/** Plain numbers on a count or rate axis: integers as such, fractions with what their step needs. */
export function numberLabels(splits, suffix = '') {
  const step = splits.length > 1 ? Math.abs(splits[1] - splits[0]) : 1;
  const digits = step >= 1 || step === 0 ? 0 : Math.min(3, Math.ceil(-Math.log10(step)));
  return splits.map((v) => (typeof v === 'number' ? `${trim(v.toFixed(digits))}${suffix}` : ''));
}

const trim = (s) => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);

/* ---------- Text ---------- */

/** Ids are long UUIDs: a narrow column shows their start, the full id is in the tooltip. */
export const shortId = (id) => (id.length > 13 ? `${id.slice(0, 8)}…` : id);

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

/** A value in full for a <pre>: strings as they are, anything else as indented JSON. */
export function full(value) {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/* ---------- Why a task waits (TaskInfo.waiting) ---------- */

/** `TaskInfo.waiting` in words; `now` for "in 3.2 s". Unknown kinds show as their JSON. */
export function waitText(w, now = Date.now()) {
  if (w === null || typeof w !== 'object') return w === undefined ? '' : String(w);
  switch (w.for) {
    case 'breaker': {
      // Open without a time to turn half-open: forced open, until closed by hand.
      const until = w.state === 'open' ? (typeof w.halfOpenAt === 'number' ? `open until ${clock(w.halfOpenAt)}` : 'forced open, until closed by hand') : `${w.state}: its trial tasks are running`;
      return `waiting for breaker ${w.breaker} (${until})`;
    }
    case 'paused':
      return `paused: agent ${w.agent}'s intake is paused`;
    case 'agent-limit':
      return `agent limit: ${w.inUse} of ${w.limit} running (agent ${w.agent})`;
    case 'resource-limit':
      return `resource limit: ${w.inUse} of ${w.limit} in use (resource ${w.resource})`;
    case 'group-limit':
      return `group limit: ${w.inUse} of ${w.limit} running (group ${w.group})`;
    case 'children-limit':
      return `children limit: ${w.inUse} of ${w.limit} children of its parent running (parent ${w.parent})`;
    case 'rate-limit':
      return `rate limit: ${w.key} allows no start ${typeof w.nextAt === 'number' ? `before ${clock(w.nextAt)}` : 'yet'}`;
    case 'parents': {
      const parents = Array.isArray(w.parents) ? w.parents : [];
      return `waiting for ${parents.length === 1 ? 'its parent' : `${parents.length} parents`} to succeed: ${parents.join(', ')}`;
    }
    case 'retry':
      return typeof w.at === 'number' ? `retry at ${clock(w.at)}${w.at > now ? ` (in ${duration(w.at - now)})` : ''}` : 'waiting to retry';
    case 'worktrees':
      return `worktree limit: ${w.inUse} of ${w.limit} worktrees in use (repository ${w.repo})`;
    case 'disk':
      return `disk budget: ${w.usedMb} MB of ${w.maxDiskMb} MB used (repository ${w.repo})`;
    case 'capacity':
      return 'waiting for a free slot: tasks ahead of it take the free slots';
    default:
      return `waiting: ${brief(w, 200)}`;
  }
}

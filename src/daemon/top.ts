/**
 * `troupe top`: a live view of a running daemon. `renderTop` turns one snapshot (and the breakers)
 * into plain lines; `runTop` polls `GET /v1/snapshot` and `GET /v1/breakers` every interval and
 * redraws, clearing the screen on a TTY, in the terminal's width and height (again at once when it
 * is resized). SIGINT (or `q` on a TTY) stops it with exit status 0.
 */
import type { MetricsSnapshot } from '../index.js';
import type { LatencySummary } from '../index.js';
import type { BreakerInfo } from '../index.js';
import { PRIORITIES } from '../index.js';
import type { Endpoint } from './client.js';
import { call } from './client-call.js';
import { outputWidth } from './cli-kit.js';

/** What `GET /v1/breakers` answers, per key (only `state` and `forced` are read). */
export type TopBreakers = Record<string, Pick<BreakerInfo, 'state' | 'forced'>>;

/** The previous poll, for throughput: when it was taken and the succeeded counter then. */
export interface TopPrevious {
  at: number;
  succeeded: number;
}

export const CLEAR = '\x1b[2J\x1b[H';

/** Tasks succeeded per second between two polls; undefined without a usable previous poll. */
export function throughput(now: TopPrevious, previous?: TopPrevious): number | undefined {
  if (previous === undefined) return undefined;
  const seconds = (now.at - previous.at) / 1000;
  if (!(seconds > 0)) return undefined;
  return Math.max(0, now.succeeded - previous.succeeded) / seconds;
}

const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const pad = (s: string, n: number): string => s.padStart(n);

function bar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const inner = Math.max(1, width);
  const filled = Math.round(f * inner);
  return `[${'#'.repeat(filled)}${'.'.repeat(inner - filled)}]`;
}

function latencyRow(name: string, l: LatencySummary): string {
  return `  ${name.padEnd(12)}${pad(ms(l.p50), 10)}${pad(ms(l.p95), 10)}${pad(ms(l.p99), 10)}${pad(String(l.count), 10)}`;
}

/**
 * One frame of `troupe top` as lines no wider than `width` (no ANSI codes). `previous` is the poll
 * before this one; without it the throughput reads `-`.
 */
export function renderTop(snapshot: MetricsSnapshot, breakers: TopBreakers, previous?: TopPrevious, width = 80): string[] {
  const { counters: c, queue: q, pool: p, latency } = snapshot;
  const rate = throughput({ at: snapshot.at, succeeded: c.succeeded }, previous);
  const percent = `${Math.round(p.utilisation * 100)}%`;
  const utilLabel = 'utilisation ';
  const notClosed = new Map<string, string>();
  for (const [key, state] of Object.entries(snapshot.breakers)) if (state !== 'closed') notClosed.set(key, state);
  for (const [key, b] of Object.entries(breakers)) {
    if (b.state === 'closed') notClosed.delete(key);
    else notClosed.set(key, `${b.state}${b.forced ? ' (forced)' : ''}`);
  }
  const lines = [
    `troupe top  ${new Date(snapshot.at).toISOString()}`,
    '',
    `queue       depth ${q.depth}  ${PRIORITIES.map((pr) => `${pr} ${q.byPriority[pr] ?? 0}`).join('  ')}`,
    `            delayed ${q.delayed}  dead letters ${q.dead}`,
    `running     ${snapshot.running}`,
    `tasks       submitted ${c.submitted}  succeeded ${c.succeeded}  failed ${c.failed}  retried ${c.retried}  dead ${c.dead}  cancelled ${c.cancelled}`,
    `throughput  ${rate === undefined ? '-' : rate.toFixed(1)} succeeded/s`,
    '',
    `latency ms  ${pad('p50', 10)}${pad('p95', 10)}${pad('p99', 10)}${pad('count', 10)}`,
    latencyRow('queue wait', latency.queueWait),
    latencyRow('run', latency.run),
    latencyRow('end to end', latency.endToEnd),
    '',
    `threads     size ${p.size}  target ${p.target}  min ${p.minThreads}  max ${p.maxThreads}  busy ${p.busy}`,
    `${utilLabel}${bar(p.utilisation, Math.min(40, width - utilLabel.length - percent.length - 3))} ${percent}`,
    `processes   ${p.processes}`,
    '',
    notClosed.size === 0 ? 'breakers    all closed' : 'breakers    not closed:',
    ...[...notClosed].sort(([a], [b]) => a.localeCompare(b)).map(([key, state]) => `  ${key}  ${state}`),
    '',
    // Older daemons' snapshots have no alerts.
    (snapshot.alerts ?? []).length === 0 ? 'alerts      none firing' : 'alerts      firing:',
    ...(snapshot.alerts ?? []).map((a) => `  ${a.alert}  ${a.message}`),
  ];
  return lines.map((l) => (l.length > width ? l.slice(0, width) : l));
}

async function get<T>(endpoint: Endpoint, path: string): Promise<T> {
  return (await call(endpoint, 'GET', path)).body as T;
}

/** A frame cut to `rows` lines: the last one says how many more there are. */
export function fitRows(lines: string[], rows: number | undefined): string[] {
  if (rows === undefined || lines.length <= rows) return lines;
  const keep = Math.max(0, rows - 1);
  return [...lines.slice(0, keep), `… ${lines.length - keep} more lines (a taller terminal shows them)`];
}

export interface TopOptions {
  endpoint: Endpoint;
  /** `--interval` in ms (checked by the CLI); default 1000. */
  interval?: number | undefined;
  once?: boolean;
  json?: boolean;
  /** Prints `data` as JSON with --json, else the human text (the client commands' `show`). */
  show(data: unknown, human: () => string): void;
  /** Raw output for the live view (default: stdout). */
  write?: (text: string) => void;
  tty?: boolean;
  /** `--width`: the frame's width off a terminal (else $COLUMNS, else whole lines). */
  width?: number | undefined;
}

/**
 * Runs `troupe top`. `--once` prints one frame (two polls an interval apart, so it has a
 * throughput) or, with `--json`, the raw snapshot of one poll. Otherwise polls until SIGINT or `q`.
 */
export async function runTop(o: TopOptions): Promise<number> {
  const intervalMs = o.interval ?? 1000;
  const tty = o.tty ?? process.stdout.isTTY === true;
  // Read at every frame: the terminal may have been resized since the last one.
  const width = (): number => outputWidth(o.width) ?? Number.MAX_SAFE_INTEGER;
  const rows = (): number | undefined => (tty && process.stdout.rows > 0 ? process.stdout.rows - 1 : undefined);
  const write = o.write ?? ((text: string) => void process.stdout.write(text));
  const poll = async (): Promise<{ snapshot: MetricsSnapshot; breakers: TopBreakers }> => {
    const snapshot = await get<MetricsSnapshot>(o.endpoint, '/v1/snapshot');
    if (o.json === true) return { snapshot, breakers: {} };
    const { breakers } = await get<{ breakers: TopBreakers }>(o.endpoint, '/v1/breakers');
    return { snapshot, breakers };
  };
  const frame = (s: MetricsSnapshot, b: TopBreakers, prev?: TopPrevious): string => fitRows(renderTop(s, b, prev, width()), rows()).join('\n');

  if (o.once === true) {
    const first = await poll();
    if (o.json === true) return o.show(first.snapshot, () => ''), 0;
    await new Promise((r) => setTimeout(r, intervalMs));
    const second = await poll();
    const prev = { at: first.snapshot.at, succeeded: first.snapshot.counters.succeeded };
    // One frame to keep, not a screen: every line of it, whatever the terminal's height.
    return o.show(null, () => renderTop(second.snapshot, second.breakers, prev, width()).join('\n')), 0;
  }

  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let timer: NodeJS.Timeout | undefined;
  const onKey = (data: Buffer): void => {
    const key = data.toString();
    if (key === 'q' || key === '\x03') stop();
  };
  const stdin = process.stdin;
  const keys = tty && stdin.isTTY === true;
  process.once('SIGINT', stop);
  // A resized terminal gets the last frame again at its new size, without waiting for the next poll.
  let last: (() => string) | undefined;
  const onResize = (): void => void (last !== undefined && write(`${CLEAR}${last()}\n`));
  if (tty) process.stdout.on('resize', onResize);
  if (keys) {
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onKey);
  }
  try {
    let prev: TopPrevious | undefined;
    let done = false;
    void stopped.then(() => (done = true));
    while (!done) {
      // A poll over the local socket is quick: finish it, then honour a stop that came meanwhile.
      const { snapshot, breakers } = await poll();
      if (done) break;
      if (o.json === true) o.show(snapshot, () => '');
      else {
        const before = prev;
        last = () => frame(snapshot, breakers, before);
        write(tty ? `${CLEAR}${last()}\n` : `${last()}\n\n`);
      }
      prev = { at: snapshot.at, succeeded: snapshot.counters.succeeded };
      await Promise.race([new Promise((r) => (timer = setTimeout(r, intervalMs))), stopped]);
      clearTimeout(timer);
    }
    return 0;
  } finally {
    clearTimeout(timer);
    process.removeListener('SIGINT', stop);
    process.stdout.removeListener('resize', onResize);
    if (keys) {
      stdin.removeListener('data', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
  }
}

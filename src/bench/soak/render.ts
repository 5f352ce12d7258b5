/**
 * The soak's report: the JSON (settings, machine, every row, every sample, the criteria and the
 * facts behind them), the Markdown for bench-results/, and the lines printed as the run goes.
 */
import { formatNumber, machineDetails, machineHeadline, markdownTable, producedBy, type MachineInfo, type Table } from '../report.js';
import { BREAKER } from './daemon-config.js';
import { HASH_ROUNDS } from './plan.js';
import type { Row } from './rows.js';
import type { Sample } from './sampler.js';
import { RULES, type Criterion } from './verdict.js';

export interface SoakReport {
  workload: 'soak-steady';
  title: string;
  command: string;
  startedAt: string;
  /** Load, then drain and checks. */
  loadMs: number;
  totalMs: number;
  settings: Record<string, unknown>;
  machine: MachineInfo;
  rows: Row[];
  samples: Sample[];
  criteria: Criterion[];
  passed: boolean;
  facts: Record<string, unknown>;
}

export const TITLE = 'Steady mixed load on the daemon: memory, journal size, latency, nothing lost';

const HEADER = ['min', 'RSS MB', 'heap MB', 'journal MB', 'db MB', 'p50 ms', 'p99 ms', 'submitted', 'succeeded', 'dead', 'failed runs', 'breaker open/closed', 'in flight', 'backlog', 'SSE events'];

const num = (v: number | null, digits: number): string => (v === null ? '–' : formatNumber(v, digits));

function cells(r: Row): string[] {
  return [
    r.label,
    num(r.rssMb, 1),
    num(r.heapMb, 1),
    num(r.journalMb, 1),
    num(r.dbMb, 2),
    num(r.p50Ms, 1),
    num(r.p99Ms, 1),
    num(r.submitted, 0),
    num(r.succeeded, 0),
    num(r.dead, 0),
    num(r.failedRuns, 0),
    `${r.breakerOpens}/${r.breakerCloses}`,
    num(r.inFlight, 0),
    num(r.backlog, 0),
    num(r.sseEvents, 0),
  ];
}

const WIDTHS = HEADER.map((h) => Math.max(h.length, 7));
const line = (c: string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(WIDTHS[i]!) : x.padStart(WIDTHS[i]!))).join('  ');

/** The table's heading, printed before the first row. */
export const headerLines = (): string => `${line(HEADER)}\n${line(WIDTHS.map((w) => '-'.repeat(w)))}\n`;
/** One row, printed as its interval ends. */
export const rowLine = (r: Row): string => `${line(cells(r))}\n`;

export function criteriaLines(criteria: readonly Criterion[]): string {
  const out = criteria.map((c) => `${c.passed ? 'PASS' : 'FAIL'}  ${c.title}: ${c.seen}\n      rule: ${c.rule}`);
  const passed = criteria.every((c) => c.passed);
  return `${out.join('\n')}\n${passed ? 'soak passed' : 'soak FAILED'}\n`;
}

interface Facts {
  accepted: number;
  acceptedByKind: Record<string, number>;
  succeeded: number;
  dead: number;
  deadByKind: Record<string, number>;
  throttled: number;
  sse: { outcomeEvents: number; outcomeEventsExpected: number; dropped: number; reconnects: number; breakers: Record<string, { opened: number; closed: number }> };
  daemon: { counters?: { failed: number } };
}

const counts = (byKey: Record<string, number>): string => Object.entries(byKey).map(([k, n]) => `${k} ${formatNumber(n, 0)}`).join(', ') || 'none';

/** The run's totals in one line: tasks by kind, dead letters by kind, failed runs, breakers, event streams. */
export function totalsLine(r: SoakReport): string {
  const f = r.facts as unknown as Facts;
  const breakers = Object.entries(f.sse.breakers).map(([k, b]) => `${k} opened ${b.opened}, closed ${b.closed}`).join('; ') || 'none moved';
  const failed = f.daemon.counters === undefined ? '' : `, ${formatNumber(f.daemon.counters.failed, 0)} failed runs`;
  return (
    `Totals: ${formatNumber(f.accepted, 0)} tasks accepted (${counts(f.acceptedByKind)}), ${formatNumber(f.succeeded, 0)} succeeded, ` +
    `${formatNumber(f.dead, 0)} dead (${counts(f.deadByKind)})${failed}; ${formatNumber(f.throttled, 0)} submissions skipped for too many in flight. ` +
    `Breakers: ${breakers}. Event streams: ${formatNumber(f.sse.outcomeEvents, 0)} succeeded/dead events for ${formatNumber(f.sse.outcomeEventsExpected, 0)} tasks ended, ` +
    `${formatNumber(f.sse.dropped, 0)} dropped, ${formatNumber(f.sse.reconnects, 0)} connections of the reconnecting client.`
  );
}

function method(r: SoakReport): string {
  const s = r.settings as {
    load: Record<string, number>;
    kinds: Record<string, { attempts: number; failRate?: number }>;
    phaseCycleMs: number;
    retention: { maxAgeMs: number; intervalMs: number };
    sampleMs: number;
    reconnectMs: number;
    threads: number;
  };
  const load = Object.entries(s.load).map(([k, v]) => `${k} ${formatNumber(v, 1)}/s`).join(', ');
  const drawn = (k: string): string => `${formatNumber(s.kinds[k]!.failRate! * 100, 0)}% of runs, ${s.kinds[k]!.attempts} attempts: dead only when all fail`;
  return (
    `The built CLI's \`troupe daemon\` in a child process (journal on disk, 'fsync', ${s.threads} pool threads fixed), driven over its Unix socket. ` +
    `Load, open loop: ${load}. hash: a module agent (${HASH_ROUNDS} × SHA-256); flaky: a module agent whose runs fail by a seeded hash (${drawn('flaky')}); ` +
    `command: a node subprocess per run failing the same way (${drawn('command')}); phased: a module agent failing every run in the last third of each ${formatNumber(s.phaseCycleMs / 1000, 0)} s cycle, ` +
    `which opens its breaker (${BREAKER.failureThreshold} failures in a row; open ${BREAKER.resetTimeoutMs / 1000} s, doubling up to ${BREAKER.maxResetTimeoutMs / 1000} s) until a trial in the next healthy phase closes it. ` +
    `Each task is one POST, then long-polled to its end: p50/p99 are submit → result of the tasks that ended in the row (phased tasks wait out their breaker). ` +
    `Three event-stream clients stay connected (all events; succeeded and dead; one asking for metrics that reconnects every ${formatNumber(s.reconnectMs / 1000, 1)} s). ` +
    `Retention prunes finished tasks ${formatNumber(s.retention.maxAgeMs / 1000, 0)} s after they end (checked every ${formatNumber(s.retention.intervalMs / 1000, 1)} s). ` +
    `RSS and heap (main thread): the daemon's GET /metrics, sampled every ${formatNumber(s.sampleMs / 1000, 2)} s (the row's median); journal: journal.db + WAL, db: journal.db alone (the row's largest; the WAL is prewritten to 8 MiB); ` +
    `in flight: accepted, not yet ended, at the row's end; backlog: queued + delayed in the daemon at the row's last sample; failed runs and breaker moves: from the event stream. ` +
    `The drain row: after the load stops, until every task has ended.`
  );
}

/** p50 / p99 by kind, one row per interval: which kind the overall figures come from. */
function kindTable(r: SoakReport): Table {
  const kinds = [...new Set(r.rows.flatMap((row) => Object.keys(row.byKind)))];
  const cell = (row: Row, kind: string): string => {
    const k = row.byKind[kind];
    return k === undefined ? '–' : `${formatNumber(k.p50Ms, 1)} / ${formatNumber(k.p99Ms, 1)}`;
  };
  return { header: ['min', ...kinds.map((k) => `${k} p50 / p99 ms`)], rows: r.rows.map((row) => [row.label, ...kinds.map((k) => cell(row, k))]) };
}

export function renderMarkdown(r: SoakReport): string {
  const table: Table = { header: HEADER, rows: r.rows.map(cells) };
  const minutes = formatNumber(r.loadMs / 60_000, r.loadMs % 60_000 === 0 ? 0 : 1);
  return [
    `### \`soak-steady\`: ${r.title}`,
    '',
    `Machine: ${machineHeadline(r.machine)}.`,
    '',
    `**${minutes} minutes of steady load, one row per ${formatNumber((r.settings as { intervalMs: number }).intervalMs / 1000, 0)} s**`,
    '',
    markdownTable(table),
    '',
    method(r),
    '',
    '**Submit → result by kind**',
    '',
    markdownTable(kindTable(r)),
    '',
    totalsLine(r),
    '',
    `**Pass criteria: ${r.passed ? 'passed' : 'FAILED'}**`,
    '',
    ...r.criteria.map((c) => `- ${c.title}: **${c.passed ? 'pass' : 'FAIL'}**, ${c.seen}. Rule: ${c.rule}.`),
    '',
    `Warm-up: the first ${RULES.warmupShare * 100}% of the load. Machine: ${machineDetails(r.machine)}. ${r.startedAt.slice(0, 10)}.`,
    '',
    ...producedBy(r.command),
    '',
  ].join('\n');
}

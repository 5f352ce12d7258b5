/**
 * One soak: a fresh daemon in a temp directory, the steady load for the run's length with a row
 * printed per interval, then the drain, the daemon's account, the criteria, and the daemon stopped.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { probeFsync } from '../fsync-probe.js';
import { commandLine, machineInfo } from '../report.js';
import { ApiClient } from '../workloads/daemon/http-client.js';
import { startDaemonChild, type DaemonChild } from './daemon-child.js';
import { BREAKER, writeDaemonConfig, type DaemonFiles } from './daemon-config.js';
import { daemonAccount, type DaemonAccount } from './final-check.js';
import { Load } from './load.js';
import { DRAIN_TIMEOUT_MS, KIND_PLANS, MAX_IN_FLIGHT, MAX_SOCKETS, POLL_WAIT_MS, THREADS, failingPhase, timings, type SoakOptions, type Timings } from './plan.js';
import { headerLines, rowLine, TITLE, type SoakReport } from './render.js';
import { rowOf, type Row } from './rows.js';
import { Sampler } from './sampler.js';
import { SseClients } from './sse.js';
import { Tally } from './tally.js';
import { journalBounded, nothingLost, rssDrift } from './verdict.js';

/** How often the run loop flips phases and closes rows. */
const STEP_MS = 100;
/** How long the outcome event stream may lag behind the long-polls at the end. */
const SSE_CATCH_UP_MS = 10_000;

/** Writes the phase file atomically: a run never reads it half written. */
function setPhase(files: DaemonFiles, failing: boolean): void {
  const next = `${files.phaseFile}.next`;
  writeFileSync(next, failing ? 'fail' : 'ok');
  renameSync(next, files.phaseFile);
}

function settings(o: SoakOptions, t: Timings): Record<string, unknown> {
  const load = Object.fromEntries(Object.entries(KIND_PLANS).map(([k, p]) => [k, p.perSecond * o.scale]));
  return { durationMs: o.durationMs, intervalMs: o.intervalMs, scale: o.scale, load, kinds: KIND_PLANS, threads: THREADS, durability: 'fsync', breaker: BREAKER, ...t, pollWaitMs: POLL_WAIT_MS, drainTimeoutMs: DRAIN_TIMEOUT_MS, maxInFlight: MAX_IN_FLIGHT };
}

interface Live {
  daemon: DaemonChild;
  files: DaemonFiles;
  tally: Tally;
  sampler: Sampler;
  t0: number;
}

/** Runs the load for `o.durationMs`: flips the breaker agent's phase, prints a row per interval. */
async function drive(o: SoakOptions, t: Timings, live: Live, write: (s: string) => void): Promise<{ rows: Row[]; flips: number }> {
  const { tally, sampler, t0 } = live;
  const rows: Row[] = [];
  const loadRows = tally.buckets.length - 1;
  let failing = false;
  let flips = 0;
  for (;;) {
    const elapsed = performance.now() - t0;
    if (live.daemon.gone()) throw new Error(`soak: the daemon exited (${await live.daemon.exited}) during the load: ${live.daemon.logTail()}`);
    const fail = elapsed < o.durationMs && failingPhase(elapsed, t.phaseCycleMs);
    if (fail !== failing) {
      setPhase(live.files, fail);
      failing = fail;
      flips += 1;
    }
    while (rows.length < loadRows && Math.min((rows.length + 1) * o.intervalMs, o.durationMs) <= elapsed) {
      const from = rows.length * o.intervalMs;
      const to = Math.min(from + o.intervalMs, o.durationMs);
      const samples = sampler.samples.filter((s) => s.t >= from && s.t < to);
      const row = rowOf(String(rows.length + 1), to / 1000, tally.buckets[rows.length]!, samples, tally.inFlight);
      rows.push(row);
      write(rowLine(row));
    }
    if (rows.length === loadRows) return { rows, flips };
    await sleep(STEP_MS);
  }
}

export async function runSoak(o: SoakOptions, write: (s: string) => void): Promise<SoakReport> {
  const startedAt = new Date();
  const machine = machineInfo(probeFsync());
  const t = timings(o);
  const dir = mkdtempSync(join(tmpdir(), 'troupe-soak-'));
  let daemon: DaemonChild | undefined;
  let api: ApiClient | undefined;
  let sse: SseClients | undefined;
  let sampler: Sampler | undefined;
  try {
    const files = writeDaemonConfig(dir, t);
    daemon = await startDaemonChild(files.config, join(dir, 'daemon.log'));
    api = new ApiClient({ socketPath: files.socket }, MAX_SOCKETS);
    const t0 = performance.now();
    const tally = new Tally(t0, o.intervalMs, o.durationMs);
    sse = new SseClients({ socketPath: files.socket }, tally);
    await sse.start(t.reconnectMs);
    sampler = new Sampler(files.socket, files.journal);
    await sampler.sample();
    sampler.start(t0, t.sampleMs);
    const load = new Load(api, tally, o.scale, files.phaseFile);
    write(`soak: daemon pid ${daemon.pid}, journal ${files.journal}; ${o.durationMs / 1000} s of load\n${headerLines()}`);
    load.start(t0);
    let driven;
    try {
      driven = await drive(o, t, { daemon, files, tally, sampler, t0 }, write);
    } finally {
      load.stop();
      setPhase(files, false);
    }
    const allEnded = await load.settle(DRAIN_TIMEOUT_MS);
    await sampler.sample();
    sampler.stop();
    const drain = rowOf('drain', (performance.now() - t0) / 1000, tally.buckets.at(-1)!, sampler.samples.filter((s) => s.t >= o.durationMs), tally.inFlight);
    write(rowLine(drain));
    const ended = tally.succeeded + tally.dead;
    for (const until = performance.now() + SSE_CATCH_UP_MS; sse.figures.outcomeEvents < ended && performance.now() < until; ) await sleep(STEP_MS);
    let account: DaemonAccount | undefined;
    let accountError: string | undefined;
    try {
      account = await daemonAccount(api);
    } catch (err) {
      accountError = err instanceof Error ? err.message : String(err);
    }
    sse.stop();
    api.close();
    const daemonExit = await daemon.stop();
    const criteria = [
      rssDrift(sampler.samples, o.durationMs),
      journalBounded(sampler.samples, o.durationMs),
      nothingLost(
        { accepted: tally.accepted, succeeded: tally.succeeded, dead: tally.dead, mismatched: tally.mismatched, unanswered: tally.inFlight, requestErrors: tally.requestErrors },
        { received: sse.figures.outcomeEvents, dropped: sse.figures.dropped },
        account,
        daemonExit,
      ),
    ];
    return {
      workload: 'soak-steady',
      title: TITLE,
      command: commandLine(),
      startedAt: startedAt.toISOString(),
      loadMs: o.durationMs,
      totalMs: Math.round(performance.now() - t0),
      settings: settings(o, t),
      machine,
      rows: [...driven.rows, drain],
      samples: sampler.samples,
      criteria,
      passed: criteria.every((c) => c.passed),
      facts: {
        accepted: tally.accepted,
        acceptedByKind: tally.acceptedByKind,
        succeeded: tally.succeeded,
        dead: tally.dead,
        deadByKind: tally.deadByKind,
        allEnded,
        mismatches: tally.mismatches,
        requestErrors: tally.requestErrors,
        errorSamples: tally.errorSamples,
        throttled: tally.throttled,
        phaseFlips: driven.flips,
        sse: { ...sse.figures, outcomeEventsExpected: ended },
        daemon: account ?? { error: accountError },
        daemonExit,
        daemonLogTail: daemon.logTail(),
        scrapeErrors: sampler.errors,
      },
    };
  } finally {
    sampler?.stop();
    sse?.stop();
    api?.close();
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

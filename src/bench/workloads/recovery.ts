/**
 * Workload `recovery`: how long a restart takes after a crash with a large backlog. A child
 * process accepts N tasks on an 'fsync' journal (tasks that wait on a gate, so none finishes) and
 * is killed with SIGKILL; then this process starts a runtime on the same journal, times start(),
 * opens the gate and times the first re-completion and the drain, and checks that every accepted
 * task completes.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, Supervisor } from '../../index.js';
import { nodeCommand } from '../../internal.js';
import type { BenchOptions, Measurement, Section, Workload } from '../harness.js';
import type { ChildConfig } from '../recovery-child.js';

const AGENT = 'hold';
const AGENT_MODULE = fileURLToPath(new URL('../agents/hold.js', import.meta.url));
const CHILD = fileURLToPath(new URL('../recovery-child.js', import.meta.url));
const THREADS = 2;
const NODE = nodeCommand();
/** Give up on the drain when no task has completed for this long; what is left counts as lost. */
const STALL_MS = 30_000;
/** Give up on the child when it has not accepted everything in this long. */
const CHILD_TIMEOUT_MS = 10 * 60_000;

/**
 * Runs the child until it prints `accepted ...`, then SIGKILLs it and waits for it to be gone
 * (so that the OS has released its lock on the journal). Resolves with the child's submit time.
 */
function acceptThenKill(config: ChildConfig): Promise<{ accepted: number; submitMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE.command, [...NODE.args, CHILD, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let accepted: { accepted: number; submitMs: number } | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`recovery child accepted nothing within ${CHILD_TIMEOUT_MS} ms; stderr: ${stderr.slice(-2000)}`));
    }, CHILD_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const m = /^accepted (\d+) ([\d.]+)$/m.exec(stdout);
      if (m === null || accepted !== undefined) return;
      accepted = { accepted: Number(m[1]), submitMs: Number(m[2]) };
      child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (accepted !== undefined && signal === 'SIGKILL') resolve(accepted);
      else reject(new Error(`recovery child exited (code ${code}, signal ${signal}) before it was killed; stderr: ${stderr.slice(-2000)}`));
    });
  });
}

/**
 * The floor of a restart: better-sqlite3 reading every column of every task row, nothing else. Run
 * on a copy of the killed journal (database and WAL), so the runtime's own start finds its files
 * as the kill left them; the copy was just written, so both read from the page cache.
 */
function bareScan(journal: string, dir: string): number {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const copy = join(dir, 'journal.db');
  copyFileSync(journal, copy);
  if (existsSync(`${journal}-wal`)) copyFileSync(`${journal}-wal`, `${copy}-wal`);
  const db = new Database(copy);
  try {
    const t0 = performance.now();
    const rows = db.prepare('SELECT * FROM tasks').raw().all();
    const ms = performance.now() - t0;
    if (rows.length === 0) throw new Error(`bare scan of ${copy} read no task rows`);
    return ms;
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureRecovery(n: number): Promise<Measurement> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-'));
  const config: ChildConfig = {
    journal: join(dir, 'journal.db'),
    gate: join(dir, 'gate'),
    ids: join(dir, 'ids'),
    tasks: n,
    threads: THREADS,
    agent: AGENT,
    module: AGENT_MODULE,
  };
  let sup: Supervisor | undefined;
  try {
    const child = await acceptThenKill(config);
    const ids = readFileSync(config.ids, 'utf8').split('\n').filter((line) => line !== '');
    if (ids.length !== n || child.accepted !== n) {
      throw new Error(`recovery child accepted ${child.accepted} tasks and listed ${ids.length}, expected ${n}`);
    }
    const scanMs = bareScan(config.journal, join(dir, 'scan'));
    (globalThis as { gc?: () => void }).gc?.();

    const t0 = performance.now();
    sup = await Supervisor.start({
      journal: config.journal,
      durability: 'fsync',
      pool: { minThreads: THREADS, maxThreads: THREADS },
      agents: { [AGENT]: { module: AGENT_MODULE } },
      // Beyond the default 100,000, retention would forget finished tasks the check below asks for.
      retention: { maxFinished: Math.max(n, DEFAULTS.retention.maxFinished) },
    });
    const recoveryMs = performance.now() - t0;
    const recovery = sup.snapshot().recovery;
    if (recovery === null) throw new Error('snapshot().recovery is null after a start on an existing journal');

    // Completions are timed from events$ ('succeeded' is delivered once durable, as result()
    // resolves), subscribed before the gate opens so that none goes unseen. result() is asked for
    // every accepted id only after the drain: 100k calls block the event loop for a while, which
    // would delay the drain they are meant to check (a finished task's result() resolves at once).
    const accepted = new Set(ids);
    const succeeded = new Set<string>();
    // A task that succeeds twice (run again although its outcome was recorded) is a duplicate.
    let duplicated = 0;
    let first: number | undefined;
    let last: number | undefined;
    const subscription = sup.events$.subscribe((e) => {
      if (e.type !== 'succeeded' || !accepted.has(e.taskId)) return;
      if (succeeded.has(e.taskId)) duplicated += 1;
      succeeded.add(e.taskId);
      last = performance.now();
      first ??= last;
    });
    const gateAt = performance.now();
    writeFileSync(config.gate, 'open');
    let seen = 0;
    let progressAt = performance.now();
    while (succeeded.size < n) {
      await new Promise((r) => setTimeout(r, 20));
      if (succeeded.size !== seen) {
        seen = succeeded.size;
        progressAt = performance.now();
      } else if (performance.now() - progressAt > STALL_MS) {
        break;
      }
    }
    subscription.unsubscribe();
    if (first === undefined || last === undefined) {
      throw new Error(`recovery: none of the ${n} accepted tasks completed after the restart`);
    }

    // The check: every accepted id's result() resolves with a value (the hold agent's null).
    const running = sup;
    const failures = new Map<string, number>();
    const outcomes = new Array<string>(n).fill('unresolved');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(
        ids.map((id, i) =>
          running.result(id).then(
            () => (outcomes[i] = 'ok'),
            (err: { code?: string }) => (outcomes[i] = err.code ?? 'error'),
          ),
        ),
      ),
      new Promise((r) => (timer = setTimeout(r, STALL_MS))),
    ]);
    clearTimeout(timer);
    let done = 0;
    for (const outcome of outcomes) {
      if (outcome === 'ok') done += 1;
      else failures.set(outcome, (failures.get(outcome) ?? 0) + 1);
    }
    const lost = n - done;
    const drainMs = last - gateAt;
    return {
      figures: {
        recoveryMs,
        scanMs,
        startPerScan: recoveryMs / scanMs,
        recoveredTasks: recovery.requeued + recovery.queued,
        firstCompletionMs: first - t0,
        drainTasksPerSec: succeeded.size / (drainMs / 1000),
        lost,
        duplicated,
      },
      facts: {
        childSubmitMs: child.submitMs,
        requeued: recovery.requeued,
        queued: recovery.queued,
        finished: recovery.finished,
        runtimeRecoveryMs: recovery.ms,
        firstAfterGateMs: first - gateAt,
        drainMs,
        succeededEvents: succeeded.size,
        resultsResolved: done,
        failures: [...failures].map(([code, count]) => `${code}: ${count}`).join(', '),
      },
    };
  } finally {
    await sup?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const recovery: Workload = {
  name: 'recovery',
  title: 'Recovery after SIGKILL with tasks in flight',
  summary: 'N tasks accepted on an fsync journal, process killed; restart time, first re-completion, drain rate, lost tasks',
  plan(options: BenchOptions): Section[] {
    const n = options.inFlight;
    const fmt = (x: number): string => x.toLocaleString('en-US');
    return [
      {
        id: 'recovery',
        title: `Recovery with tasks in flight at the kill, journal 'fsync', ${THREADS} threads`,
        method:
          `A child process starts Troupe on a fresh journal file, submits N tasks that wait on a gate file, ` +
          `and is killed with SIGKILL once all are accepted and the threads have started some. start ms: Supervisor.start() on ` +
          `that journal until it resolves (open, replay, pool start). bare scan ms: better-sqlite3 reading every column of every ` +
          `task row (SELECT * FROM tasks, raw().all()) of a copy of the killed journal, just before start(); start ÷ scan: ` +
          `their ratio in the same measurement. recovered: requeued + queued in snapshot().recovery. ` +
          `The gate opens as start() resolves; first done ms: from the start() call to the first task to succeed ` +
          `(durably, per events$); drain tasks/s: completions ÷ time from the gate opening to the last; lost: accepted ` +
          `ids whose result(), asked after the drain, did not resolve with a value (must be 0); duplicated: succeeded ` +
          `events beyond one per task (must be 0). Each measurement on a ` +
          `fresh journal, removed after.`,
        metrics: [
          { key: 'recoveryMs', label: 'start ms', digits: 0, better: 'lower' },
          { key: 'scanMs', label: 'bare scan ms', digits: 0, better: 'lower' },
          { key: 'startPerScan', label: 'start ÷ scan', digits: 2, better: 'lower' },
          { key: 'recoveredTasks', label: 'recovered', digits: 0, better: 'higher' },
          { key: 'firstCompletionMs', label: 'first done ms', digits: 0, better: 'lower' },
          { key: 'drainTasksPerSec', label: 'drain tasks/s', digits: 0, better: 'higher' },
          { key: 'lost', label: 'lost', digits: 0, better: 'lower' },
          { key: 'duplicated', label: 'duplicated', digits: 0, better: 'lower' },
        ],
        // The two sizes: a tenth of --in-flight (10,000 by default) and --in-flight itself.
        cases: [...new Set([Math.max(1, Math.round(n / 10)), n])].map((size) => ({
          id: size === n ? 'troupe' : `troupe-${size}`,
          label: `Troupe, ${THREADS} threads, ${fmt(size)} in flight`,
          measure: () => measureRecovery(size),
        })),
      },
    ];
  },
};

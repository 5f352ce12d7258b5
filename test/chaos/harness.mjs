// The crash test: runs the runtime (child.mjs) in a child process under a steady load, SIGKILLs it at
// random moments, restarts it, and repeats; then lets a last child drain the journal and checks that
// every accepted task has exactly one recorded completion, none is lost, and every side effect
// happened at least once.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { prng } from './prng.mjs';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'child.mjs');
const TERMINAL = new Set(['succeeded', 'dead', 'cancelled']);
/**
 * The waits below are ceilings, not budgets: they end a run that is stuck, and are generous because a
 * child's start-up takes seconds, not the usual fraction of one, on a loaded machine (2 cores at a
 * load of 15 and more). A child must exit within this once killed, or once drained.
 */
const EXIT_TIMEOUT_MS = 60_000;


/**
 * @typedef {object} CrashTestOptions
 * @property {number} kills            how many times the loaded runtime is SIGKILLed
 * @property {number} [seed]           seeds the kill schedule (default: random, reported)
 * @property {string} dir              a directory for the journal, the side-effect file and child logs
 * @property {(line: string) => void} [log]   progress lines (one per kill), if wanted
 * @property {number} [minAccepted]    each load child accepts at least this many new tasks before it may be killed (default 3)
 * @property {number} [maxExtraAccepted] ... plus up to this many more, chosen at random (default 5)
 * @property {number} [maxDelayMs]     then the kill waits a random 0..maxDelayMs ms (default 150)
 * @property {number} [earlyKillRatio] share of kills that strike at a random moment of start-up or recovery instead, 0..1 (default 0.1)
 * @property {number} [startTimeoutMs] a child must be ready (and accept its tasks) within this (default 60 s)
 * @property {number} [drainTimeoutMs] the final drain must finish within this (default 120 s)
 * @property {string[]} [childArgs]    extra arguments for load children (--batch, --every, --work-ms, --max-backlog)
 */

/**
 * @typedef {object} CrashTestReport
 * @property {boolean} ok              no loss, no duplicate completion, no missing side effect, no anomaly
 * @property {number} seed
 * @property {number} kills            SIGKILLs delivered
 * @property {number} earlyKills       of which during start-up or recovery
 * @property {number} accepted         task ids printed as accepted by the load children
 * @property {number} journaled        tasks in the journal (accepted ones plus any committed just before a kill, unannounced)
 * @property {number} succeeded        accepted tasks in state succeeded
 * @property {number} lost             accepted tasks missing from the journal or not succeeded
 * @property {number} duplicateCompletions  tasks with more than one terminal transition
 * @property {number} sideEffectsMissing    accepted tasks with no side-effect line
 * @property {number} sideEffects      side-effect lines (executions that got as far as their side effect)
 * @property {number} reexecuted       tasks whose side effect happened more than once (at-least-once at work)
 * @property {number} maxExecutions    the most side effects one task had
 * @property {number} repeatedAttempts tasks whose side effect was recorded twice with the same attempt number
 * @property {number} recovered        'requeued' transitions with reason 'recovered' (running when a child died)
 * @property {number} recoveredTasks   distinct tasks requeued as 'recovered'
 * @property {number} incarnations     runtime starts (journal incarnation counter)
 * @property {string[]} anomalies      each violated invariant, with up to a few example task ids
 * @property {number} elapsedMs
 */

/**
 * Runs the crash test. Never hangs: every wait is bounded and fails with a message saying what it waited for.
 * @param {CrashTestOptions} options
 * @returns {Promise<CrashTestReport>}
 */
export async function runCrashTest(options) {
  const {
    kills,
    dir,
    log = () => {},
    minAccepted = 3,
    maxExtraAccepted = 5,
    maxDelayMs = 150,
    earlyKillRatio = 0.1,
    startTimeoutMs = 60_000,
    drainTimeoutMs = 120_000,
    childArgs = [],
  } = options;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(kills) || kills < 0) throw new TypeError(`kills must be an integer >= 0 (got ${kills})`);
  mkdirSync(dir, { recursive: true });
  const journal = join(dir, 'journal.db');
  const effects = join(dir, 'effects.log');
  const acceptedLog = join(dir, 'accepted.log');
  const random = prng(seed);
  const started = Date.now();
  const accepted = new Set();
  let earlyKills = 0;

  for (let k = 1; k <= kills; k += 1) {
    const child = startChild(['--mode', 'load', '--journal', journal, '--effects', effects, ...childArgs], `load child #${k}`);
    const fresh = [];
    child.onLine((line) => {
      if (line.startsWith('accepted ')) fresh.push(line.slice('accepted '.length));
    });
    const spawnedAt = Date.now();
    let readyAt;
    child.onLine((line) => {
      if (line.startsWith('ready ')) readyAt ??= Date.now();
    });
    const early = random() < earlyKillRatio;
    try {
      if (early) {
        // Strike while it starts, recovers the journal, or just began to take work.
        earlyKills += 1;
        await child.sleepOrExit(Math.floor(random() * 400));
      } else {
        const want = minAccepted + Math.floor(random() * (maxExtraAccepted + 1));
        await child.waitFor(() => child.accepted >= want, `${want} tasks accepted`, startTimeoutMs);
        await child.sleepOrExit(Math.floor(random() * (maxDelayMs + 1)));
      }
      if (child.exited) throw child.failure('exited on its own before it was killed');
    } catch (err) {
      child.kill();
      throw err;
    }
    child.kill();
    await child.waitForExit(EXIT_TIMEOUT_MS);
    if (child.signal !== 'SIGKILL') throw child.failure(`ended with ${child.code ?? child.signal}, not by SIGKILL`);
    for (const id of fresh) accepted.add(id);
    if (fresh.length > 0) appendFileSync(acceptedLog, fresh.map((id) => `${id}\n`).join(''));
    const ready = readyAt === undefined ? 'before ready' : `ready in ${readyAt - spawnedAt} ms`;
    log(`kill ${k}/${kills}${early ? ' (early)' : ''}: pid ${child.pid}, ${ready}, killed at ${Date.now() - spawnedAt} ms after ${child.accepted} accepted; ${accepted.size} accepted in all`);
  }

  const drainer = startChild(['--mode', 'drain', '--journal', journal, '--effects', effects, '--timeout', String(drainTimeoutMs)], 'drain child');
  try {
    await drainer.waitFor(() => drainer.lines.some((l) => l.startsWith('drained')), 'drained', drainTimeoutMs + startTimeoutMs);
    await drainer.waitForExit(EXIT_TIMEOUT_MS);
  } catch (err) {
    drainer.kill();
    throw err;
  }
  if (drainer.code !== 0) throw drainer.failure(`exited with ${drainer.code ?? drainer.signal} after draining`);
  log(`drained: ${drainer.lines.find((l) => l.startsWith('drained'))?.slice('drained '.length)}`);

  const verdict = verifyCrashTest(dir);
  return { ok: verdict.ok, seed, kills, earlyKills, ...verdict, elapsedMs: Date.now() - started };
}

/**
 * Checks every invariant on what a crash test left in `dir`: the journal (`journal.db`), the side-effect
 * file (`effects.log`) and the ids the load children announced as accepted (`accepted.log`).
 * Run the drain first: a task still queued or running counts as lost.
 */
export function verifyCrashTest(dir) {
  const journal = join(dir, 'journal.db');
  const effects = join(dir, 'effects.log');
  const acceptedLog = join(dir, 'accepted.log');
  const accepted = new Set(existsSync(acceptedLog) ? readFileSync(acceptedLog, 'utf8').split('\n').filter(Boolean) : []);
  const db = new Database(journal, { readonly: true, fileMustExist: true });
  let tasks, transitions, incarnations;
  try {
    tasks = new Map(db.prepare('SELECT id, state, attempt FROM tasks').all().map((t) => [t.id, t]));
    transitions = db.prepare('SELECT task_id, type, attempt, detail FROM transitions ORDER BY id').all();
    incarnations = Number(db.prepare("SELECT value FROM meta WHERE key = 'incarnation'").get()?.value ?? 0);
  } finally {
    db.close();
  }

  const byTask = new Map();
  for (const t of transitions) {
    let list = byTask.get(t.task_id);
    if (list === undefined) byTask.set(t.task_id, (list = []));
    list.push(t);
  }

  const runs = new Map(); // task id -> attempts of its side effects
  let sideEffects = 0;
  let tornLines = 0;
  const text = existsSync(effects) ? readFileSync(effects, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^(\S+) (\d+)$/.exec(line);
    if (m === null) {
      tornLines += 1;
      continue;
    }
    sideEffects += 1;
    let list = runs.get(m[1]);
    if (list === undefined) runs.set(m[1], (list = []));
    list.push(Number(m[2]));
  }

  const problems = new Map();
  const flag = (what, id) => {
    const list = problems.get(what) ?? [];
    list.push(id);
    problems.set(what, list);
  };

  let succeeded = 0;
  let lost = 0;
  let sideEffectsMissing = 0;
  for (const id of accepted) {
    const task = tasks.get(id);
    if (task === undefined) flag('accepted but not in the journal (lost)', id);
    else if (task.state !== 'succeeded') flag(`accepted but ${task.state}, not succeeded (lost)`, id);
    else succeeded += 1;
    if (task?.state !== 'succeeded') lost += 1;
    if (!runs.has(id)) {
      sideEffectsMissing += 1;
      flag('accepted but its side effect never happened', id);
    }
  }

  let duplicateCompletions = 0;
  for (const [id, task] of tasks) {
    const list = byTask.get(id) ?? [];
    const terminal = list.filter((t) => TERMINAL.has(t.type));
    const wins = list.filter((t) => t.type === 'succeeded');
    if (terminal.length > 1) {
      duplicateCompletions += 1;
      flag('more than one terminal transition', id);
    } else if (wins.length !== 1) {
      flag(`${wins.length} 'succeeded' transitions, not 1`, id);
    }
    if (task.state !== 'succeeded' && !accepted.has(id)) flag(`journaled (unannounced) but ${task.state} at the end`, id);
    if (list[0]?.type !== 'submitted') flag("first transition is not 'submitted'", id);
    if (terminal.length > 0 && list.at(-1) !== terminal.at(-1)) flag('a transition after its outcome', id);
    if (wins.length === 1 && wins[0].attempt !== task.attempt) flag("the 'succeeded' transition's attempt is not the task's", id);
    if (task.state === 'succeeded' && !runs.has(id)) flag('succeeded without any side effect', id);
  }
  for (const id of runs.keys()) if (!tasks.has(id)) flag('a side effect of a task the journal does not know', id);
  for (const id of byTask.keys()) if (!tasks.has(id)) flag('transitions of a task not in tasks', id);
  if (tornLines > 0) problems.set(`${tornLines} malformed line(s) in the side-effect file`, []);

  const recoveredRows = transitions.filter((t) => t.type === 'requeued' && t.detail === 'recovered');
  const counts = [...runs.values()].map((l) => l.length);
  const anomalies = [...problems].map(([what, ids]) => `${what}: ${ids.length}${ids.length ? ` (e.g. ${ids.slice(0, 3).join(', ')})` : ''}`);
  return {
    ok: anomalies.length === 0 && lost === 0 && duplicateCompletions === 0 && sideEffectsMissing === 0,
    accepted: accepted.size,
    journaled: tasks.size,
    succeeded,
    lost,
    duplicateCompletions,
    sideEffectsMissing,
    sideEffects,
    reexecuted: counts.filter((n) => n > 1).length,
    maxExecutions: Math.max(0, ...counts),
    repeatedAttempts: [...runs.values()].filter((l) => new Set(l).size < l.length).length,
    recovered: recoveredRows.length,
    recoveredTasks: new Set(recoveredRows.map((t) => t.task_id)).size,
    incarnations,
    anomalies,
  };
}

/** Spawns child.mjs and follows its stdout line by line; keeps the tail of its stderr for errors. */
function startChild(args, name) {
  // stdin stays open and unused: the child exits when it closes, so no child outlives this process.
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  proc.stdin.on('error', () => {}); // EPIPE once the child is gone
  const lines = [];
  const listeners = [];
  let partial = '';
  let stderr = '';
  const state = {
    pid: proc.pid,
    lines,
    accepted: 0,
    exited: false,
    code: null,
    signal: null,
    onLine: (fn) => listeners.push(fn),
    kill: () => {
      if (!state.exited) proc.kill('SIGKILL');
    },
    failure: (what) => new Error(`crash test: ${name} (pid ${proc.pid}) ${what}; stderr:\n${stderr.slice(-4000) || '(empty)'}`),
    /** Polls `condition` until it holds; fails if the child exits first or `ms` pass. */
    waitFor: async (condition, what, ms) => {
      const deadline = Date.now() + ms;
      while (!condition()) {
        if (state.exited) throw state.failure(`exited (${state.code ?? state.signal}) while waiting for: ${what}`);
        if (Date.now() > deadline) throw state.failure(`timed out after ${ms} ms waiting for: ${what} (last line: ${lines.at(-1) ?? 'none'})`);
        await new Promise((r) => setTimeout(r, 2));
      }
    },
    sleepOrExit: (ms) => Promise.race([new Promise((r) => setTimeout(r, ms)), exit]),
    waitForExit: (ms) => state.waitFor(() => state.exited, 'exit', ms),
  };
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop(); // a line cut short by SIGKILL never counts
    for (const line of parts) {
      lines.push(line);
      if (line.startsWith('accepted ')) state.accepted += 1;
      for (const fn of listeners) fn(line);
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-16_000);
  });
  const exit = new Promise((resolve) => {
    // 'close' (not 'exit'): stdout is fully read by then, so no accepted line is missed.
    proc.on('close', (code, signal) => {
      Object.assign(state, { exited: true, code, signal });
      resolve();
    });
  });
  proc.on('error', (err) => {
    stderr += `\nspawn error: ${err.message}`;
  });
  return state;
}

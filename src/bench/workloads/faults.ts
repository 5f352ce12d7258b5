/**
 * Workload `faults`: how fast Troupe notices and stops misbehaving runs. One row per fault: a
 * handler that blocks its thread's event loop (a stall), one that spins past its timeout ignoring
 * its signal, a command that ignores SIGTERM past its timeout, and a handler that kills its own
 * thread. Each fault is provoked K times in a row on one runtime, and each trial's figure is a
 * delay read off the runtime's own events (`at`, on the supervisor clock) or off snapshot(),
 * counted from the deadline the options set: what the runtime adds on top of its deadlines, never
 * how long the bench slept. The workload fails if a run fails with another error code than its
 * fault should give, or if an expected event or pool state does not come within 10 s.
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import {
  Supervisor, type CommandAgentOptions, type ModuleAgentOptions, type SupervisorOptions, type TroupeEvent, type TroupeEventType,
} from '../../index.js';
import type { BenchOptions, Case, Measurement, Section, Workload } from '../harness.js';
import { percentile } from '../stats.js';
import { nodeCommand } from '../../internal.js';

const AGENT = 'fault';
/** Node, or the single binary as Node: `-e` code runs under either. */
const NODE = nodeCommand();
const BLOCK_MODULE = fileURLToPath(new URL('../agents/fault-block.js', import.meta.url));
const EXIT_MODULE = fileURLToPath(new URL('../agents/fault-exit.js', import.meta.url));
/** Trials per measurement, one after another on one runtime (20 took the 4 passes of --runs 3 just past 2 min). */
const K = 15;
/** Threads of the fixed-size pool (the bench machines have 2 cores). */
const THREADS = 2;
/** Every fault's deadline: stallTimeoutMs or timeoutMs. */
const DEADLINE_MS = 200;
/** cancelGraceMs / killGraceMs: the signal first, then the thread or the process group goes. */
const GRACE_MS = 50;
/** How long the blocking handler spins: far past any deadline, so only the runtime can end it. */
const SPIN_MS = 10_000;
/** Longest the bench waits for one event or pool state before the workload fails. */
const WAIT_LIMIT_MS = 10_000;
/** One failed run and the task is dead: no retry takes the next trial's thread. */
const NO_RETRY = { attempts: 1 };
/** Ignores SIGTERM, says so on stderr (a `log` event), then idles for ever. */
const IGNORE_SIGTERM = "process.on('SIGTERM', () => {}); console.error('ready'); setInterval(() => {}, 60000);";

/** Errors only, to stderr: every trial would log its 'stopping a failed run' warning, K times per row. */
const quietLogger = () => pino({ name: 'troupe', level: 'error' }, pino.destination(2));

/** The supervisor's clock (systemClock): epoch ms with sub-ms precision. */
const now = (): number => performance.timeOrigin + performance.now();
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type TaskEvent = Extract<TroupeEvent, { taskId: string }>;

/** An event and when this process received it (same clock as its `at`). */
interface Seen {
  event: TaskEvent;
  arrivedAt: number;
}

/** The first event of each type per task, recorded from subscription on, so no wait misses an early one. */
class EventLog {
  private readonly seen = new Map<string, Seen>();
  private readonly waiters = new Map<string, (s: Seen) => void>();
  readonly stop: () => void;

  constructor(sup: Supervisor) {
    const subscription = sup.events$.subscribe((event) => this.record(event));
    this.stop = () => subscription.unsubscribe();
  }

  has(taskId: string, type: TroupeEventType): boolean {
    return this.seen.has(`${type} ${taskId}`);
  }

  wait(taskId: string, type: TroupeEventType): Promise<Seen> {
    const key = `${type} ${taskId}`;
    const seen = this.seen.get(key);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`bench faults: no '${type}' event for task ${taskId} within ${WAIT_LIMIT_MS} ms`));
      }, WAIT_LIMIT_MS);
      this.waiters.set(key, (s) => (clearTimeout(timer), resolve(s)));
    });
  }

  private record(event: TroupeEvent): void {
    if (!('taskId' in event)) return;
    const key = `${event.type} ${event.taskId}`;
    if (this.seen.has(key)) return;
    const seen = { event, arrivedAt: now() };
    this.seen.set(key, seen);
    this.waiters.get(key)?.(seen);
    this.waiters.delete(key);
  }
}

/** Polls snapshot().pool.threadIds about every 1 ms until `done` holds; resolves with when it was first seen to. */
async function until(sup: Supervisor, done: (threadIds: number[]) => boolean, what: string): Promise<number> {
  const limit = now() + WAIT_LIMIT_MS;
  for (;;) {
    const ids = sup.snapshot().pool.threadIds;
    const t = now();
    if (done(ids)) return t;
    if (t > limit) throw new Error(`bench faults: ${what} not seen in snapshot() within ${WAIT_LIMIT_MS} ms (threads ${ids.join(',')})`);
    await pause(1);
  }
}

/** The pool is whole again: THREADS live threads, none of them `dead`. */
const whole = (dead: number) => (ids: number[]) => ids.length === THREADS && !ids.includes(dead);

/** The thread the task's last run was on, from its history. */
function threadOf(sup: Supervisor, taskId: string): number {
  const threadId = sup.get(taskId)?.history?.at(-1)?.threadId;
  if (threadId === undefined) throw new Error(`bench faults: task ${taskId} has no thread in its history`);
  return threadId;
}

function expectCode(failed: Seen, code: string): void {
  const got = failed.event.type === 'failed' ? failed.event.error.code : undefined;
  if (got !== code) throw new Error(`bench faults: task ${failed.event.taskId} failed with ${got ?? '?'}, expected ${code}`);
}

/** Submits one task and waits for its `started`, its `failed` (code checked) and its `dead`. */
async function failOnce(sup: Supervisor, log: EventLog, input: unknown, code: string): Promise<{ id: string; started: Seen; failed: Seen }> {
  const id = await sup.submit({ agent: AGENT, input });
  const started = await log.wait(id, 'started');
  const failed = await log.wait(id, 'failed');
  expectCode(failed, code);
  await log.wait(id, 'dead');
  return { id, started, failed };
}

/** One trial's delay, and for the timeout row the wait until its thread left snapshot(). */
interface Trial {
  delayMs: number;
  threadGoneMs?: number;
}
type TrialFn = (sup: Supervisor, log: EventLog) => Promise<Trial>;

/** stalled.at − (started.at + stallTimeoutMs). Then, untimed, waits for the pool to be whole again. */
const stallTrial: TrialFn = async (sup, log) => {
  const { id, started } = await failOnce(sup, log, { ms: SPIN_MS }, 'TROUPE_TASK_STALLED');
  const stalled = await log.wait(id, 'stalled');
  await until(sup, whole(threadOf(sup, id)), 'the stalled thread replaced');
  return { delayMs: stalled.event.at - (started.event.at + DEADLINE_MS) };
};

/** failed arrival − (started.at + timeoutMs + cancelGraceMs); then failed arrival → thread gone from snapshot(). */
const timeoutTrial: TrialFn = async (sup, log) => {
  const { id, started, failed } = await failOnce(sup, log, { ms: SPIN_MS }, 'TROUPE_TASK_TIMEOUT');
  const dead = threadOf(sup, id);
  const goneAt = await until(sup, (ids) => !ids.includes(dead), `thread ${dead} gone`);
  await until(sup, whole(dead), 'the timed-out thread replaced');
  return { delayMs: failed.arrivedAt - (started.event.at + DEADLINE_MS + GRACE_MS), threadGoneMs: goneAt - failed.arrivedAt };
};

/** failed.at − (started.at + timeoutMs + killGraceMs); the command must have said it ignores SIGTERM. */
const commandTrial: TrialFn = async (sup, log) => {
  const { id, started, failed } = await failOnce(sup, log, null, 'TROUPE_TASK_TIMEOUT');
  if (!log.has(id, 'log')) throw new Error(`bench faults: command of task ${id} was stopped before it ignored SIGTERM`);
  return { delayMs: failed.event.at - (started.event.at + DEADLINE_MS + GRACE_MS) };
};

/** failed.at → snapshot() shows THREADS live threads without the dead one. */
const deathTrial: TrialFn = async (sup, log) => {
  const { id, failed } = await failOnce(sup, log, null, 'TROUPE_THREAD_DIED');
  const replacedAt = await until(sup, whole(threadOf(sup, id)), 'the dead thread replaced');
  return { delayMs: replacedAt - failed.event.at };
};

interface Fault {
  id: string;
  label: string;
  agent: ModuleAgentOptions | CommandAgentOptions;
  pool?: SupervisorOptions['pool'];
  trial: TrialFn;
}

const FAULTS: readonly Fault[] = [
  {
    id: 'stall',
    label: 'Stall detected after its deadline',
    agent: { module: BLOCK_MODULE, stallTimeoutMs: DEADLINE_MS, cancelGraceMs: GRACE_MS, retry: NO_RETRY },
    trial: stallTrial,
  },
  {
    id: 'timeout',
    label: 'Timed-out run stopped, thread gone',
    agent: { module: BLOCK_MODULE, timeoutMs: DEADLINE_MS, cancelGraceMs: GRACE_MS, retry: NO_RETRY },
    trial: timeoutTrial,
  },
  {
    id: 'command-timeout',
    label: 'Timed-out command killed',
    agent: { command: NODE.command, args: [...NODE.args, '-e', IGNORE_SIGTERM], input: 'none', output: 'text', timeoutMs: DEADLINE_MS, killGraceMs: GRACE_MS, retry: NO_RETRY },
    trial: commandTrial,
  },
  {
    id: 'thread-death',
    label: 'Dead thread replaced',
    agent: { module: EXIT_MODULE, retry: NO_RETRY },
    // K deaths in a few seconds are the point here: the restart-rate limit must not pause launches.
    pool: { threadRestarts: { maxDeaths: 1_000, periodMs: 10_000 } },
    trial: deathTrial,
  },
];

/** p50 and max of the trials' delays; for the timeout row, the same of the thread-gone waits as facts. */
function toMeasurement(trials: readonly Trial[]): Measurement {
  const delays = trials.map((t) => t.delayMs);
  const gone = trials.flatMap((t) => (t.threadGoneMs === undefined ? [] : [t.threadGoneMs]));
  const facts: Record<string, number> = { trials: trials.length };
  if (gone.length > 0) Object.assign(facts, { threadGoneP50Ms: percentile(gone, 50), threadGoneMaxMs: Math.max(...gone) });
  return { figures: { p50Ms: percentile(delays, 50), maxMs: Math.max(...delays) }, facts };
}

/** Starts a runtime for the fault (untimed), waits for a full pool, runs K trials in a row, shuts down. */
async function measureFault(fault: Fault): Promise<Measurement> {
  const sup = await Supervisor.start({
    journal: ':memory:',
    breaker: false,
    pool: { minThreads: THREADS, maxThreads: THREADS, ...fault.pool },
    agents: { [AGENT]: fault.agent },
    logger: quietLogger(),
  });
  const log = new EventLog(sup);
  try {
    await until(sup, (ids) => ids.length === THREADS, 'a full pool');
    const trials: Trial[] = [];
    for (let i = 0; i < K; i += 1) trials.push(await fault.trial(sup, log));
    return toMeasurement(trials);
  } finally {
    log.stop();
    await sup.shutdown();
  }
}

const faultCase = (fault: Fault): Case => ({ id: fault.id, label: fault.label, measure: () => measureFault(fault) });

export const faults: Workload = {
  name: 'faults',
  title: 'Fault handling: how fast Troupe notices and stops misbehaving runs',
  summary: 'stalls, timeouts (thread and command) and dead threads, provoked in a row; delay past each deadline, p50 and max',
  plan(_options: BenchOptions): Section[] {
    return [
      {
        id: 'faults',
        title: `Fault handling, ${K} trials per run, deadline ${DEADLINE_MS} ms, grace ${GRACE_MS} ms`,
        method:
          `Each row starts one runtime (${THREADS} threads, no journal (':memory:'), breakers off, retry attempts 1; untimed), ` +
          `then provokes its fault ${K} times in a row and reports the p50 and max of the ${K} delays, which come from the ` +
          `runtime's events (their \`at\`, on the supervisor clock) or from polling snapshot(), never from sleeps. ` +
          `Stall: a handler spins without yielding (stallTimeoutMs ${DEADLINE_MS}, cancelGraceMs ${GRACE_MS}); delay = ` +
          `stalled.at − (started.at + ${DEADLINE_MS}). Timed-out run: the same handler with timeoutMs ${DEADLINE_MS}, ` +
          `cancelGraceMs ${GRACE_MS}; delay = arrival of 'failed' − (started.at + ${DEADLINE_MS + GRACE_MS}); the wait ` +
          `from then until its thread id leaves snapshot().pool.threadIds is in the facts (threadGone*). Command: ` +
          `\`node -e\` ignoring SIGTERM (timeoutMs ${DEADLINE_MS}, killGraceMs ${GRACE_MS}); delay = failed.at − ` +
          `(started.at + ${DEADLINE_MS + GRACE_MS}). started.at stands in for the run's start on its thread or in its ` +
          `process, where the deadlines really start: it is stamped a little earlier, at dispatch, so these delays ` +
          `slightly overstate. Dead thread: a handler calls process.exit(1) (pool.threadRestarts raised so that the ` +
          `deaths do not pause launches); delay = failed.at (TROUPE_THREAD_DIED) → snapshot() showing ${THREADS} live ` +
          `threads without the dead one, polled every ~1 ms (setTimeout), so to within ~1 ms (the pool is reported ` +
          `as soon as a thread starts or goes away). Every module trial starts on ` +
          `${THREADS} live threads (the bench waits, untimed, for snapshot() to show them).`,
        metrics: [
          { key: 'p50Ms', label: 'p50 ms', digits: 1, better: 'lower', ratio: false },
          { key: 'maxMs', label: 'max ms', digits: 1, better: 'lower', ratio: false },
        ],
        cases: FAULTS.map(faultCase),
      },
    ];
  },
};

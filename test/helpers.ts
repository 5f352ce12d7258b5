import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, expect, onTestFinished } from 'vitest';
import { Supervisor, TroupeError, type Clock, type TaskInfo, type TroupeEvent } from '../dist/index.js';

export const FIXTURES = resolve(import.meta.dirname, 'fixtures');
export const agentPath = (name: string): string => join(FIXTURES, 'agents', `${name}.mjs`);
export const commandPath = (name: string): string => join(FIXTURES, 'commands', `${name}.mjs`);

/**
 * Polls `condition` every few milliseconds until it holds; fails after `timeoutMs` with `what`. The
 * default is a ceiling for a loaded machine, not a budget: it only matters when the condition never
 * comes, and it stays under the test timeout (vitest.config.ts) so that the failure names the wait.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A fresh temporary directory, removed when the current test finishes. Call it inside a test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `files` (path → text) into a fresh temporary directory; returns it. Call it inside a test. */
export function tree(files: Record<string, string>): string {
  const root = tempDir();
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A gate that `gate.mjs` handlers wait on: open() releases them. Call it inside a test. */
export function gate(): { path: string; open(): void } {
  const path = join(tempDir(), 'gate');
  return { path, open: () => writeFileSync(path, 'open') };
}

const running = new Map<Supervisor, Clock | undefined>();
afterEach(async () => {
  await Promise.all([...running].map(([sup, clock]) => stop(sup, clock)));
  running.clear();
});

/**
 * Shuts a supervisor down. Shutdown's deadline and cancel grace run on the supervisor's clock, so a
 * manual clock is kept moving meanwhile: a failed test's leftovers cannot hang the tests after it.
 */
async function stop(sup: Supervisor, clock: Clock | undefined): Promise<void> {
  const manual = clock as Partial<ReturnType<typeof manualClock>> | undefined;
  const tick = manual?.advance === undefined ? undefined : setInterval(() => manual.advance!(1_000), 5);
  try {
    await sup.shutdown({ timeoutMs: 0 });
  } finally {
    clearInterval(tick);
  }
}

/** Starts a supervisor that is shut down after the test, whatever happens. */
export async function start(options: Parameters<typeof Supervisor.start>[0]): Promise<Supervisor> {
  const sup = await Supervisor.start(options);
  running.set(sup, options.clock);
  return sup;
}

/** Collects every public event of a supervisor. */
export function record(sup: Supervisor): TroupeEvent[] {
  const events: TroupeEvent[] = [];
  sup.events$.subscribe((e) => events.push(e));
  return events;
}

/** A shared [current, max] concurrency counter that handlers update from their threads. */
export function concurrencyCounter(): { buffer: SharedArrayBuffer; current(): number; max(): number } {
  const buffer = new SharedArrayBuffer(8);
  const view = new Int32Array(buffer);
  return { buffer, current: () => Atomics.load(view, 0), max: () => Atomics.load(view, 1) };
}

/**
 * A clock whose timers fire only when the test advances it (its `now` is real time plus the
 * advances). With `earlyMs`, timers fire that much before they are due, as Node's can (its timers
 * run on a cached, whole-millisecond loop clock). With `frozen`, its `now` moves only when the test
 * advances it: however long the machine takes between two advances, none of it counts (heartbeats,
 * output, progress all happen at the same instant), so run limits pass exactly when the test says.
 */
export function manualClock({ earlyMs = 0, frozen = false } = {}): Clock & { advance(ms: number): void } {
  let offset = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  const base = Date.now();
  const now = (): number => (frozen ? base : Date.now()) + offset;
  return {
    now,
    setTimeout: (fn, ms) => {
      const timer = { at: now() + ms, fn };
      timers.add(timer);
      return timer;
    },
    clearTimeout: (timer) => timers.delete(timer as { at: number; fn: () => void }),
    advance(ms) {
      offset += ms;
      for (const timer of [...timers]) {
        // A timer that an earlier one cleared during this advance does not fire.
        if (!timers.has(timer) || timer.at - earlyMs > now()) continue;
        timers.delete(timer);
        timer.fn();
      }
    },
  };
}

/** What `failure()` resolves with: the TROUPE_TASK_FAILED error, its cause (the last run's error) and history. */
export type TaskFailure<C = Error & { code?: string } & Record<string, unknown>> = TroupeError & {
  cause: C;
  details: { history: NonNullable<TaskInfo['history']> };
};

/** The rejection of `sup.result(id)`, checked to be TROUPE_TASK_FAILED; fails the test if the task succeeds. */
export async function failure<C = Error & { code?: string } & Record<string, unknown>>(sup: Supervisor, id: string): Promise<TaskFailure<C>> {
  const succeeded = (value: unknown): Promise<never> => Promise.reject(new Error(`task ${id} succeeded with ${JSON.stringify(value)}`));
  const err: unknown = await sup.result(id).then(succeeded, (e: unknown) => e);
  expect(err).toBeInstanceOf(TroupeError);
  expect((err as TroupeError).code).toBe('TROUPE_TASK_FAILED');
  return err as TaskFailure<C>;
}

/**
 * True while `pid` names a process that still runs. A zombie counts as gone: it runs nothing, and
 * orphans killed here may stay zombies for ever because PID 1 of a container need not reap them.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    // No /proc (not Linux): trust kill(0). /proc but no entry: it just went away.
    return !existsSync('/proc/self/stat');
  }
}

/**
 * Waits for a fixture's pid file (`{ pid, grandchild? }`) and returns it. Whatever those processes
 * a failed test leaves running is SIGKILLed when the test finishes. Call it inside a test.
 */
export async function readPids(file: string): Promise<{ pid: number; grandchild?: number }> {
  await waitFor(() => existsSync(file), `pid file ${file}`);
  const pids = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; grandchild?: number };
  onTestFinished(() => {
    for (const pid of [pids.pid, pids.grandchild]) {
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
  });
  return pids;
}

/**
 * Runs a fixture runtime (`test/fixtures/journal/<script>`) given `plan` as JSON, waits for the first
 * line it prints (JSON: what it submitted, once its tasks are where the test wants them), then kills
 * it with SIGKILL, as a crash would. Resolves with that line, parsed.
 */
export async function crashAfterReady<T>(script: string, plan: unknown): Promise<T> {
  const child = spawn(process.execPath, [join(FIXTURES, 'journal', script), JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await waitFor(() => out.includes('\n') || child.exitCode !== null, `${script} ready`);
  child.kill('SIGKILL');
  await waitFor(() => child.signalCode !== null || child.exitCode !== null, `${script} dead`);
  if (!out.includes('\n')) throw new Error(`${script} exited (code ${child.exitCode}) before it was ready`);
  return JSON.parse(out.split('\n')[0]!) as T;
}

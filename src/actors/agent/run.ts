import type { AgentConfig } from '../../core/config.js';
import type { EffectivePolicy } from '../../core/policy.js';
import type { RunPlace } from '../../core/messages.js';
import type { RunWatch } from './run-watch.js';
import type { AgentKind, TaskRecord } from '../../core/task.js';
import { runCommand } from './command-runner.js';
import type { ModuleRunner, TaskHooks } from './module-runner.js';

/** One launched run of a task, as the Agent actor tracks it. */
export interface Run {
  readonly kind: AgentKind;
  /** `incarnation:attempt`: every message of this run carries it, so the ledger can fence it. */
  readonly lease: string;
  /** Asks the work to stop; `force` is called after the grace period if it has not. */
  readonly requestStop: () => void;
  readonly force: () => void;
  readonly graceMs: number;
  cancelReason?: string;
  /** Stopped to be resumed later (shutdown with a journal), not cancelled. */
  requeue?: boolean;
  graceTimer?: unknown;
  /** Why the runtime stopped the run as failed (timeout, stall): its outcome, whatever the handler does. */
  failure?: Error;
  readonly launchedAt: number;
  readonly place: RunPlace;
  readonly policy: EffectivePolicy;
  watch?: RunWatch;
}

/** What a run needs: the task, which attempt it is, its lease, and its agent. */
export interface RunSpec {
  readonly task: TaskRecord;
  readonly attempt: number;
  readonly lease: string;
  readonly config: AgentConfig;
  readonly policy: EffectivePolicy;
  /** Results of the task's parents that succeeded, by name or id (tasks with `dependsOn` only). */
  readonly parents?: Record<string, unknown>;
}

/** Heartbeats a thread sends on its own, for a stall timeout of `ms`: several per period, at most 1/s. */
function heartbeatEvery(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.max(10, Math.min(1_000, Math.floor(ms / 4)));
}

/** Starts a run: a subprocess for a command agent, a pool task for a module agent. */
export function startRun(pool: ModuleRunner, spec: RunSpec, hooks: TaskHooks, launchedAt: number): { run: Run; done: Promise<unknown> } {
  const { task, attempt, lease, config } = spec;
  const job = { taskId: task.id, attempt, input: task.input, checkpoint: task.checkpoint, ...(spec.parents === undefined ? {} : { parents: spec.parents }) };
  const place: RunPlace = {};
  const started = hooks.started;
  // Where the run takes place is known once it starts (a process at once, a thread a little later).
  const placed: TaskHooks = { ...hooks, started: (p) => (Object.assign(place, p), started?.(p)) };
  if (config.kind === 'command') {
    const cmd = runCommand(config, job, placed);
    const run: Run = { kind: 'command', lease, requestStop: cmd.stop, force: cmd.kill, graceMs: config.killGraceMs, launchedAt, place, policy: spec.policy };
    return { run, done: cmd.done };
  }
  const heartbeatMs = heartbeatEvery(spec.policy.stallTimeoutMs);
  const limited = spec.policy.timeoutMs !== undefined || heartbeatMs !== undefined;
  // The thread reports the task's start only when a run limit has to start counting then.
  const mod = pool.run({ moduleUrl: config.moduleUrl, ...job, ...(limited ? { signalStart: true } : {}), ...(heartbeatMs === undefined ? {} : { heartbeatMs }) }, placed);
  const run: Run = { kind: 'module', lease, requestStop: mod.requestStop, force: mod.terminate, graceMs: config.cancelGraceMs, launchedAt, place, policy: spec.policy };
  return { run, done: mod.done };
}

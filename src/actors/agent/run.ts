import type { AgentConfig, CommandAgentConfig, ModuleAgentConfig } from '../../core/config.js';
import type { EffectivePolicy } from '../../core/policy.js';
import type { RunPlace } from '../../core/messages.js';
import type { RunWatch } from './run-watch.js';
import type { AgentKind, TaskRecord } from '../../core/task.js';
import { runCommand } from './command-runner.js';
import { runPty } from './pty-runner.js';
import type { TerminalHooks } from './terminals.js';
import type { ModuleRunner, ModuleTask, TaskHooks } from './module-runner.js';
import type { WorkspaceMeta } from './workspace/worktree.js';

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
  /** A module run's batch: how many of its runs have not ended. */
  batch?: { left: number };
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
  /** Its git worktree, made before it launches (agent option `workspace`); or why it could not be made. */
  workspace?: WorkspaceMeta;
  workspaceError?: Error;
}

/** Heartbeats a thread sends on its own, for a stall timeout of `ms`: several per period, at most 1/s. */
function heartbeatEvery(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.max(10, Math.min(1_000, Math.floor(ms / 4)));
}

/** Where a run takes place is known once it starts (a process at once, a thread a little later). */
function placing<H extends TaskHooks>(hooks: H, place: RunPlace): H {
  const started = hooks.started;
  return { ...hooks, started: (p) => (Object.assign(place, p), started?.(p)) };
}

function jobOf(spec: RunSpec): { taskId: string; attempt: number; input: unknown; checkpoint: unknown; parents?: Record<string, unknown>; managerId?: string } {
  const { task, attempt } = spec;
  const job = { taskId: task.id, attempt, input: task.input, checkpoint: task.checkpoint, ...(spec.parents === undefined ? {} : { parents: spec.parents }) };
  return task.managerId === undefined ? job : { ...job, managerId: task.managerId };
}

/** A run that fails before anything of it starts (its worktree could not be made). */
export function failedRun(spec: RunSpec, error: Error, launchedAt: number): { run: Run; done: Promise<unknown> } {
  const graceMs = spec.config.kind === 'command' ? spec.config.killGraceMs : spec.config.cancelGraceMs;
  const run: Run = { kind: spec.config.kind, lease: spec.lease, requestStop: () => undefined, force: () => undefined, graceMs, launchedAt, place: {}, policy: spec.policy };
  return { run, done: Promise.reject(error) };
}

/** Starts a command agent's run: a subprocess, in a pseudo-terminal with `tty`. */
export function startCommand(spec: RunSpec, hooks: TaskHooks & TerminalHooks, launchedAt: number, token: string): { run: Run; done: Promise<unknown> } {
  if (spec.workspaceError !== undefined) return failedRun(spec, spec.workspaceError, launchedAt);
  const place: RunPlace = {};
  const config = spec.config as CommandAgentConfig;
  const ws = spec.workspace;
  const workspace = ws === undefined ? {} : { workspace: { path: ws.path, branch: ws.branch, base: ws.base } };
  const cmd = (config.tty ? runPty : runCommand)(config, { ...jobOf(spec), token, ...workspace }, placing(hooks, place));
  const run: Run = { kind: 'command', lease: spec.lease, requestStop: cmd.stop, force: cmd.kill, graceMs: config.killGraceMs, launchedAt, place, policy: spec.policy };
  return { run, done: cmd.done };
}

/** Starts module agents' runs as one batch on the pool (one pool message; see `ModuleRunner.runBatch`). */
export function startModules(pool: ModuleRunner, all: readonly { spec: RunSpec; hooks: TaskHooks }[], launchedAt: number): { run: Run; done: Promise<unknown> }[] {
  // Those whose worktree could not be made fail here; the others go to the pool as one batch.
  const items = all.filter(({ spec }) => spec.workspaceError === undefined);
  if (items.length < all.length) {
    const started = startModules(pool, items, launchedAt);
    return all.map(({ spec }) => (spec.workspaceError !== undefined ? failedRun(spec, spec.workspaceError, launchedAt) : started.shift()!));
  }
  if (items.length === 0) return [];
  const places = items.map((): RunPlace => ({}));
  const jobs = pool.runBatch(
    items.map(({ spec, hooks }, i) => {
      const heartbeatMs = heartbeatEvery(spec.policy.stallTimeoutMs);
      const limited = spec.policy.timeoutMs !== undefined || heartbeatMs !== undefined;
      // The thread reports the task's start only when a run limit has to start counting then.
      const workdir = spec.workspace === undefined ? {} : { workdir: spec.workspace.path };
      const task: ModuleTask = { moduleUrl: (spec.config as ModuleAgentConfig).moduleUrl, ...jobOf(spec), ...workdir, ...(limited ? { signalStart: true } : {}), ...(heartbeatMs === undefined ? {} : { heartbeatMs }) };
      return { task, hooks: placing(hooks, places[i]!) };
    }),
  );
  return jobs.map((mod, i) => {
    const { spec } = items[i]!;
    const run: Run = { kind: 'module', lease: spec.lease, requestStop: mod.requestStop, force: mod.terminate, graceMs: (spec.config as ModuleAgentConfig).cancelGraceMs, launchedAt, place: places[i]!, policy: spec.policy };
    return { run, done: mod.done };
  });
}

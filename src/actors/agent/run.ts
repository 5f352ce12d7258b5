import type { AgentConfig } from '../../runtime/options.js';
import type { AgentKind, TaskRecord } from '../../runtime/task.js';
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
}

/** What a run needs: the task, which attempt it is, its lease, and its agent. */
export interface RunSpec {
  readonly task: TaskRecord;
  readonly attempt: number;
  readonly lease: string;
  readonly config: AgentConfig;
}

/** Starts a run: a subprocess for a command agent, a pool task for a module agent. */
export function startRun(pool: ModuleRunner, spec: RunSpec, hooks: TaskHooks): { run: Run; done: Promise<unknown> } {
  const { task, attempt, lease, config } = spec;
  const job = { taskId: task.id, attempt, input: task.input, checkpoint: task.checkpoint };
  if (config.kind === 'command') {
    const cmd = runCommand(config, job, hooks);
    return { run: { kind: 'command', lease, requestStop: cmd.stop, force: cmd.kill, graceMs: config.killGraceMs }, done: cmd.done };
  }
  const mod = pool.run({ moduleUrl: config.moduleUrl, ...job }, hooks);
  return { run: { kind: 'module', lease, requestStop: mod.requestStop, force: mod.terminate, graceMs: config.cancelGraceMs }, done: mod.done };
}

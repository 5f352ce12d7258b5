import type { Clock } from '../../core/clock.js';
import type { Message } from '../../core/messages.js';
import { MAX_LOG_LINE } from '../../core/limits.js';
import type { TaskHooks } from './module-runner.js';
import type { Run, RunSpec } from './run.js';
import { RunWatch } from './run-watch.js';
import type { LogStream, TaskLogs } from './task-logs.js';
import type { AgentConfig } from '../../core/config.js';
import type { TerminalHooks } from './terminals.js';

/** Heartbeats of one task closer together than this are coalesced. */
const HEARTBEAT_EVERY_MS = 1_000;

/** What a run's hooks need of the Agent actor. */
export interface HookHost {
  readonly clock: Clock;
  /** Publishes from outside a message handler (guarded against throwing). */
  publish(msg: Message): void;
  /** The run limit passed: a timeout, or a stall after `silentMs` without a heartbeat. */
  timedOut(taskId: string): void;
  stalled(taskId: string, silentMs: number): void;
  /** The run the Agent holds for a task now. */
  current(taskId: string): Run | undefined;
  /** A module handler ended after `ms`. */
  ran(agent: string, ms: number): void;
  /** Where output lines are kept. */
  readonly logs: TaskLogs;
  /** A kept line matched one of the agent's `stuckPatterns`. */
  stuck(taskId: string, line: string, pattern: string): void;
}

const compiled = new WeakMap<AgentConfig, RegExp[]>();
/** The agent's `stuckPatterns`, compiled once per agent. */
function stuckPatterns(config: AgentConfig): RegExp[] {
  let found = compiled.get(config);
  if (found === undefined) compiled.set(config, (found = (config.stuckPatterns ?? []).map((p) => new RegExp(p))));
  return found;
}

/**
 * The hooks a run reports through, and `attach`, called once the run exists. The run's clocks
 * start once it is on its thread or in its process: time a module task waits for its thread (behind
 * others of its batch, or one starting up) is neither run time nor a stall.
 */
export function runHooks(spec: RunSpec, host: HookHost): { hooks: TaskHooks & TerminalHooks; attach(run: Run): void } {
  const { task, lease } = spec;
  const taskId = task.id;
  let lastBeat = -Infinity;
  let run: Run | undefined;
  let watch: RunWatch | undefined;
  const patterns = stuckPatterns(spec.config);
  // `text` is what stuckPatterns see: the line, or a terminal line's plain text.
  const keep = (stream: LogStream, line: string, at: number, text = line): void => {
    host.logs.append(taskId, spec.attempt, stream, line, at);
    for (let i = 0; i < patterns.length; i += 1) if (patterns[i]!.test(text)) return host.stuck(taskId, text, spec.config.stuckPatterns![i]!);
  };
  const limited = spec.policy.timeoutMs !== undefined || spec.policy.stallTimeoutMs !== undefined;
  const begin = (): void => {
    if (!limited || watch !== undefined || (run !== undefined && host.current(taskId) !== run)) return;
    watch = new RunWatch(host.clock, spec.policy, () => host.timedOut(taskId), (silentMs) => host.stalled(taskId, silentMs));
    watch.watchStalls();
    if (run !== undefined) run.watch = watch;
  };
  const hooks: TaskHooks & TerminalHooks = {
    progress: (value: unknown, checkpoint = false) => host.publish({ type: 'task.progress', taskId, lease, value, checkpoint, at: host.clock.now() }),
    heartbeat: () => {
      watch?.beat();
      // Output activity counts as a heartbeat; one event per second per task is enough to show life.
      const now = host.clock.now();
      if (now - lastBeat < HEARTBEAT_EVERY_MS) return;
      lastBeat = now;
      host.publish({ type: 'task.heartbeat', taskId, at: now });
    },
    log: (message: string, stream: 'stderr' | 'log' = 'log') => {
      const at = host.clock.now();
      const line = message.slice(0, MAX_LOG_LINE);
      keep(stream, line, at);
      host.publish({ type: 'task.log', taskId, message: line, at });
    },
    output: (line: string) => keep('stdout', line, host.clock.now()),
    ttyLine: (raw: string, plain: string) => keep('tty', raw, host.clock.now(), plain),
    terminal: (terminal) => host.logs.terminals.add(terminal),
    started: begin,
    ran: (ms) => host.ran(task.agent, ms),
  };
  return {
    hooks,
    attach(r: Run) {
      run = r;
      r.watch = watch; // a command begins as it is started, a module task later
    },
  };
}

import type { SerializedError } from './errors.js';
import type { AgentKind, TaskRecord } from './task.js';
import type { AlertChange } from './alert-options.js';

/** Where a run took place: its pool thread or its process. */
export interface RunPlace {
  threadId?: number;
  pid?: number;
}

/**
 * Every message that travels between actors. Actors never call each other: they publish one of
 * these on their outbox and the Supervisor routes it, through the task ledger, to every inbox.
 *
 * Naming: `task.*` are lifecycle transitions of one task; the others describe actor state.
 */
export type Message =
  /** A task was accepted (committed). Handled by the Queue (it queues it) and Metrics. */
  | { type: 'task.submitted'; task: TaskRecord; at: number }
  /** A submission joined this task, in flight with the same cache key, instead of running again. Handled by Metrics. */
  | { type: 'task.joined'; taskId: string; at: number }
  /** Queue hands tasks to the Agent actor (all it dispatched at once, in order); each used a credit. */
  | { type: 'task.dispatch'; tasks: readonly { taskId: string; attempt: number }[]; at: number }
  /** `lease` fences the run: outcomes and progress carrying another lease are refused. */
  | { type: 'task.started'; taskId: string; attempt: number; lease: string; at: number }
  | { type: 'task.progress'; taskId: string; lease: string; value: unknown; checkpoint: boolean; at: number }
  | { type: 'task.log'; taskId: string; message: string; at: number }
  | { type: 'task.heartbeat'; taskId: string; at: number }
  | { type: 'task.succeeded'; taskId: string; lease: string; result: unknown; at: number }
  /**
   * A run failed. The Agent has applied the retry policy: with `retryAt` the task waits until then
   * (`delayed`, or `queued` at once when due), without it the task is dead. `counts` says whether
   * it used up one of the task's attempts (a RetryAfterError does not).
   */
  | {
      type: 'task.failed';
      taskId: string;
      lease: string;
      error: SerializedError;
      at: number;
      retryAt?: number;
      counts: boolean;
      /** When the run was handed to its thread or process. */
      launchedAt: number;
      place: RunPlace;
    }
  /** A delayed task's backoff is over: it goes back to the queue (published by the Queue). */
  | { type: 'task.due'; taskId: string; at: number }
  /** Every parent of a blocked task has ended as it needs: it goes to the queue (from the ledger). */
  | { type: 'task.unblocked'; taskId: string; at: number }
  /** A task that is not running is dead without running again: its start cap, or a failed parent. */
  | { type: 'task.exhausted'; taskId: string; error: SerializedError; at: number }
  /**
   * A distributed task is bound to manager `managerId`, or unbound (absent) to be bound when it is
   * dispatched: by the Queue as it dispatches it (`at-dispatch`), or by the engine when its manager ends.
   */
  | { type: 'task.bound'; taskId: string; managerId?: string; at: number }
  /** A dead task goes back to the queue for new attempts, with new input when `input` is set. */
  | { type: 'task.redriven'; taskId: string; at: number; input?: { value: unknown } }
  /** A running task sent no heartbeat for its stall timeout; its run is being stopped. */
  | { type: 'task.stalled'; taskId: string; silentMs: number; at: number }
  /**
   * A request: stop this task wherever it is (Queue drops it if queued, Agent stops it if running).
   * With `requeue`, a stopped run goes back to the queue instead of ending (shutdown with a journal).
   */
  | { type: 'task.cancel'; taskId: string; reason: string; at: number; requeue?: boolean }
  /** `lease` is set when a run was stopped, absent when the task was still queued. */
  | { type: 'task.cancelled'; taskId: string; reason: string; lease?: string; at: number }
  /**
   * A running task goes back to the queue (its runner was lost); `reason` says why. `unbegun`: its
   * handler never began (its batch's thread went first), so the start does not count.
   */
  | { type: 'task.requeued'; taskId: string; reason: string; at: number; unbegun?: true }
  /** Agent grants the Queue `n` more dispatch credits of one kind (flow control). */
  | { type: 'agent.credit'; kind: AgentKind; n: number }
  /** Agent forgets outstanding credits (after a restart of either side) and grants afresh. */
  | { type: 'agent.reset'; kind: AgentKind; credits: number }
  /** Queue: tasks that lack only a credit to run, per kind (what the autoscaler grows for). */
  | { type: 'queue.demand'; waiting: Record<AgentKind, number> }
  | { type: 'queue.reset' }
  | {
      type: 'pool.status';
      size: number;
      target: number;
      busy: number;
      utilisation: number;
      processes: number;
      threadIds: number[];
    }
  /** Asks the Agent to run a no-op job on the pool (readiness): it answers with `pool.probed`. */
  | { type: 'pool.probe'; id: string }
  | { type: 'pool.probed'; id: string; ok: boolean; ms: number; error?: string }
  /**
   * The Breaker's decision for one key (journaled): `record` is what the journal keeps of it, and
   * the Queue caps the key by `state`. `cause` names the trial task (one dispatched while a gate key
   * of it was half-open) whose outcome this decision settles: the Queue holds a trial's slot until
   * then, so that a failed trial lets nothing through before the reopen. A decision that settles a
   * trial without changing its breaker carries `unchanged` (no public event).
   */
  | { type: 'breaker.changed'; key: string; state: BreakerState; record: BreakerRecord; at: number; cause?: string; unchanged?: true }
  /** An operator paused (or resumed) an agent's intake (journaled): its queued tasks wait, submissions are still accepted. */
  | { type: 'agent.intake'; agent: string; paused: boolean; at: number }
  /** An operator forces a breaker open or closed (API). */
  | { type: 'breaker.force'; key: string; state: 'open' | 'closed'; at: number }
  /** A repository's worktrees went over their disk budget (`held`: new runs wait) or back under it. */
  | { type: 'workspace.budget'; repo: string; held: boolean; at: number }
  /** A threshold alert began firing or resolved (Metrics actor). */
  | { type: 'alert.changed'; change: AlertChange }
  | { type: 'actor.crashed'; actor: ActorName; error: SerializedError; at: number }
  | { type: 'actor.restarted'; actor: ActorName; restarts: number; at: number }
  /** The journal was replayed at start: unfinished tasks resume. */
  | { type: 'supervisor.recovered'; requeued: number; queued: number; finished: number; ms: number; at: number }
  | { type: 'supervisor.draining'; at: number }
  | { type: 'supervisor.stopped'; reason: string; at: number }
  /** Fault injection: the named actor throws while handling this message (supervision tests, chaos runs). */
  | { type: 'debug.crash'; actor: ActorName };

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

export const ACTOR_NAMES = ['queue', 'agent', 'breaker', 'metrics'] as const;
export type ActorName = (typeof ACTOR_NAMES)[number];
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What is journaled of a breaker (survives restarts). */
export interface BreakerRecord {
  state: BreakerState;
  /** Forced by an operator: a forced-open breaker never goes half-open by itself. */
  forced: boolean;
  /** When it last opened (epoch ms), or null. */
  openedAt: number | null;
  /** The reset timeout in force for the current (or next) opening; grows on reopen, back to cfg.resetTimeoutMs when it closes. */
  resetTimeoutMs: number;
}

/** What is journaled of a paused agent (a resumed one has no record). */
export interface IntakeRecord {
  paused: true;
  /** When it was paused (epoch ms). */
  at: number;
}

/** Messages that change a task's recorded state; the ledger applies them before anyone sees them. */
export const TRANSITIONS: ReadonlySet<MessageType> = new Set([
  'task.submitted',
  'task.started',
  'task.progress',
  'task.succeeded',
  'task.failed',
  'task.cancelled',
  'task.requeued',
  'task.due',
  'task.unblocked',
  'task.exhausted',
  'task.redriven',
  'task.bound',
  'breaker.changed',
  'agent.intake',
]);

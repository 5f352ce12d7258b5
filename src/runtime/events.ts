import type { ActorName, BreakerState, Message } from '../core/messages.js';
import type { AlertChange } from '../actors/metrics/alerts.js';
import type { SerializedError } from '../core/errors.js';
import type { Priority } from '../core/task.js';

/**
 * Lifecycle and runtime events, as `Supervisor#events$` publishes them. `at` is epoch milliseconds.
 * Events of a child task (one a running task submitted) carry that task's id as `parentId`.
 */
export type TroupeEvent =
  | { type: 'submitted'; taskId: string; agent: string; parentId?: string; priority: Priority; at: number }
  | { type: 'started'; taskId: string; agent: string; parentId?: string; attempt: number; at: number }
  | { type: 'progress'; taskId: string; agent: string; parentId?: string; value: unknown; at: number }
  | { type: 'log'; taskId: string; agent: string; parentId?: string; message: string; at: number }
  | { type: 'heartbeat'; taskId: string; agent: string; parentId?: string; at: number }
  /** `cachedFrom`: the task was answered from the result cache with this task's result (it did not run). */
  | { type: 'succeeded'; taskId: string; agent: string; parentId?: string; result: unknown; cachedFrom?: string; at: number }
  /** A run failed: it is retried at `retryAt`, or the task is dead (a `dead` event follows). */
  | { type: 'failed'; taskId: string; agent: string; parentId?: string; attempt: number; error: SerializedError; retryAt?: number; dead: boolean; at: number }
  /** The task failed for good (attempts or start cap used up, unrecoverable error): a dead letter. */
  | { type: 'dead'; taskId: string; agent: string; parentId?: string; error: SerializedError; at: number }
  | { type: 'redriven'; taskId: string; agent: string; parentId?: string; at: number }
  /** A running task sent no heartbeat for its stall timeout; its run is stopped and fails. */
  | { type: 'stalled'; taskId: string; agent: string; parentId?: string; silentMs: number; at: number }
  | { type: 'cancelled'; taskId: string; agent: string; parentId?: string; reason: string; at: number }
  | { type: 'requeued'; taskId: string; agent: string; parentId?: string; reason: string; at: number }
  /** Every parent of the task has ended as it needs (`dependsOn`): it is queued. */
  | { type: 'unblocked'; taskId: string; agent: string; parentId?: string; at: number }
  | { type: 'pool'; size: number; target: number; busy: number; utilisation: number; processes: number }
  | { type: 'breaker'; key: string; state: BreakerState; forced: boolean; at: number }
  /** An operator paused or resumed an agent's intake (`pause()`, `resume()`). */
  | { type: 'paused' | 'resumed'; agent: string; at: number }
  /** A threshold alert (`options.alerts`) began firing or resolved. */
  | ({ type: 'alert' } & AlertChange)
  | { type: 'actor-crashed'; actor: ActorName; error: SerializedError; at: number }
  | { type: 'actor-restarted'; actor: ActorName; restarts: number; at: number }
  | { type: 'recovered'; requeued: number; queued: number; finished: number; ms: number; at: number }
  | { type: 'draining'; at: number }
  | { type: 'stopped'; reason: string; at: number };

export type TroupeEventType = TroupeEvent['type'];

type TaskInfoOf = (taskId: string) => { agent: string; attempt: number; parentId?: string };

/** Maps an internal message to its public events (none for internal traffic). */
export function toPublicEvents(msg: Message, taskOf: TaskInfoOf): TroupeEvent[] {
  const events = eventsOf(msg, taskOf);
  for (const event of events) {
    if (!('taskId' in event)) continue;
    const parentId = taskOf(event.taskId).parentId;
    if (parentId !== undefined) (event as { parentId?: string }).parentId = parentId;
  }
  return events;
}

function eventsOf(msg: Message, taskOf: TaskInfoOf): TroupeEvent[] {
  const agentOf = (id: string): string => taskOf(id).agent;
  switch (msg.type) {
    case 'task.failed': {
      const { taskId, error, at, retryAt } = msg;
      const agent = agentOf(taskId);
      const failed: TroupeEvent = { type: 'failed', taskId, agent, attempt: taskOf(taskId).attempt, error, dead: retryAt === undefined, at };
      if (retryAt !== undefined) return [{ ...failed, retryAt }];
      return [failed, { type: 'dead', taskId, agent, error, at }];
    }
    case 'task.submitted': {
      const submitted = toPublicEvent(msg, agentOf)!;
      const t = msg.task;
      if (t.cachedFrom === undefined) return [submitted];
      return [submitted, { type: 'succeeded', taskId: t.id, agent: t.agent, result: t.result, cachedFrom: t.cachedFrom, at: msg.at }];
    }
    case 'task.exhausted':
      return [{ type: 'dead', taskId: msg.taskId, agent: agentOf(msg.taskId), error: msg.error, at: msg.at }];
    case 'task.redriven':
      return [{ type: 'redriven', taskId: msg.taskId, agent: agentOf(msg.taskId), at: msg.at }];
    case 'task.stalled':
      return [{ type: 'stalled', taskId: msg.taskId, agent: agentOf(msg.taskId), silentMs: msg.silentMs, at: msg.at }];
    default: {
      const event = toPublicEvent(msg, agentOf);
      return event === undefined ? [] : [event];
    }
  }
}

/** Maps a message that has at most one public event. */
function toPublicEvent(msg: Message, agentOf: (taskId: string) => string): TroupeEvent | undefined {
  switch (msg.type) {
    case 'task.submitted': {
      const { id, agent, priority } = msg.task;
      return { type: 'submitted', taskId: id, agent, priority, at: msg.at };
    }
    case 'task.started':
      return { type: 'started', taskId: msg.taskId, agent: agentOf(msg.taskId), attempt: msg.attempt, at: msg.at };
    case 'task.progress':
      return { type: 'progress', taskId: msg.taskId, agent: agentOf(msg.taskId), value: msg.value, at: msg.at };
    case 'task.log':
      return { type: 'log', taskId: msg.taskId, agent: agentOf(msg.taskId), message: msg.message, at: msg.at };
    case 'task.heartbeat':
      return { type: 'heartbeat', taskId: msg.taskId, agent: agentOf(msg.taskId), at: msg.at };
    case 'task.succeeded':
      return { type: 'succeeded', taskId: msg.taskId, agent: agentOf(msg.taskId), result: msg.result, at: msg.at };
    case 'task.cancelled':
      return { type: 'cancelled', taskId: msg.taskId, agent: agentOf(msg.taskId), reason: msg.reason, at: msg.at };
    case 'task.requeued':
      return { type: 'requeued', taskId: msg.taskId, agent: agentOf(msg.taskId), reason: msg.reason, at: msg.at };
    case 'task.unblocked':
      return { type: 'unblocked', taskId: msg.taskId, agent: agentOf(msg.taskId), at: msg.at };
    case 'pool.status': {
      const { size, target, busy, utilisation, processes } = msg;
      return { type: 'pool', size, target, busy, utilisation, processes };
    }
    case 'breaker.changed':
      // A decision that only settles a trial (the breaker stays as it was) is no change to report.
      return msg.unchanged ? undefined : { type: 'breaker', key: msg.key, state: msg.state, forced: msg.record.forced, at: msg.at };
    case 'agent.intake':
      return { type: msg.paused ? 'paused' : 'resumed', agent: msg.agent, at: msg.at };
    case 'alert.changed':
      return { type: 'alert', ...msg.change };
    case 'actor.crashed':
      return { type: 'actor-crashed', actor: msg.actor, error: msg.error, at: msg.at };
    case 'actor.restarted':
      return { type: 'actor-restarted', actor: msg.actor, restarts: msg.restarts, at: msg.at };
    case 'supervisor.recovered': {
      const { type: _type, ...rest } = msg;
      return { type: 'recovered', ...rest };
    }
    case 'supervisor.draining':
      return { type: 'draining', at: msg.at };
    case 'supervisor.stopped':
      return { type: 'stopped', reason: msg.reason, at: msg.at };
    default:
      return undefined;
  }
}

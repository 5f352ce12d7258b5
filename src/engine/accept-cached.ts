// The result cache at submission: join a task in flight, reuse a fresh result, or let it run.
import { newId } from '../core/ids.js';
import type { EnginePort } from './intake-port.js';
import { cacheDecision, type CacheRequest } from '../core/cache.js';
import type { ValidSubmission } from '../core/submission.js';
import type { TaskRecord } from '../core/task.js';

/**
 * Answers a submission with a cache key from the task that last ran with that key, if it can:
 * resolves with the id of the task in flight it joins, or of a new task born `succeeded` with
 * the cached result (no run). Resolves undefined when the task must run (a miss).
 */
export async function answerFromCache(root: EnginePort, valid: ValidSubmission & { cache: CacheRequest }): Promise<string | undefined> {
  const source = root.ledger.cacheSource(valid.agent, valid.cache.key);
  const now = root.options.clock.now();
  switch (cacheDecision(source, now, valid.cache.ttlMs)) {
    case 'join':
      await joined(root, source!.id, now);
      return source!.id;
    case 'hit':
      return cachedCopy(root, valid, source!, now);
    default:
      return undefined;
  }
}

/** A submission refused because a task in flight holds its cache key (same batch): the task it joins. */
export async function joinedAfterRefusal(root: EnginePort, valid: ValidSubmission & { cache: CacheRequest }): Promise<string | undefined> {
  const source = root.ledger.cacheSource(valid.agent, valid.cache.key);
  if (source === undefined) return undefined;
  await joined(root, source.id, root.options.clock.now());
  return source.id;
}

async function joined(root: EnginePort, id: string, at: number): Promise<void> {
  await root.submissionDurable(id);
  root.publish({ type: 'task.joined', taskId: id, at });
}

/** Records a task born succeeded with `source`'s result, and resolves with its id once durable. */
async function cachedCopy(root: EnginePort, valid: ValidSubmission & { cache: CacheRequest }, source: TaskRecord, now: number): Promise<string> {
  const task: TaskRecord = {
    id: newId(),
    seq: root.ledger.nextSeq(),
    agent: valid.agent,
    kind: root.options.agents.get(valid.agent)!.kind,
    priority: valid.priority,
    resources: valid.resources,
    input: valid.input,
    ...(valid.key === undefined ? {} : { key: valid.key }),
    cacheKey: valid.cache.key,
    cachedFrom: source.cachedFrom ?? source.id,
    state: 'succeeded',
    attempt: 0,
    submittedAt: now,
    finishedAt: now,
    result: source.result,
  };
  await root.publishCommitted({ type: 'task.submitted', task, at: now });
  // With an idempotency key taken meanwhile (same batch), the first recorded wins, as for any submission.
  const winner = valid.key === undefined ? task.id : (root.ledger.idForKey(valid.key) ?? task.id);
  if (winner !== task.id) await root.submissionDurable(winner);
  return winner;
}

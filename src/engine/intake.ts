// The engine's intake: submissions become records (ids, sequence numbers), idempotency and cache races settle here.
import { newId } from '../core/ids.js';
import type { CacheRequest } from '../core/cache.js';
import { TroupeError } from '../core/errors.js';
import type { ValidGraph, ValidSubmission } from '../core/submission.js';
import type { TaskRecord } from '../core/task.js';
import { answerFromCache, joinedAfterRefusal } from './accept-cached.js';
import { acceptGraph, type GraphFields } from './accept-graph.js';
import type { EnginePort } from './intake-port.js';

type CachedSubmission = ValidSubmission & { cache: CacheRequest };

/**
 * Takes validated submissions and redrives. Each call resolves once what it recorded is durable:
 * with the id of the new task, of the task an idempotency key already names, or of the task in
 * flight a cache key joins.
 */
export class Intake {
  constructor(private readonly root: EnginePort) {}

  /** True when `id` names a recorded task (a parent must). */
  has(id: string): boolean {
    return this.root.ledger.get(id) !== undefined;
  }

  submit(valid: ValidSubmission, graph?: GraphFields): Promise<string> {
    return this.accept(valid, graph);
  }

  /** All the graph's tasks in one commit, parents first; resolves with the ids by name. */
  submitGraph(graph: ValidGraph): Promise<Record<string, string>> {
    return acceptGraph(graph, (valid) => this.known(valid), (valid, fields) => this.accept(valid, fields));
  }

  /** Dead tasks back to the queue (new input if given); resolves once every redrive is durable. */
  async redrive(ids: readonly string[], input: { value: unknown } | undefined): Promise<string[]> {
    const at = this.root.options.clock.now();
    await Promise.all(ids.map((id) => this.root.publishCommitted({ type: 'task.redriven', taskId: id, at, ...(input && { input }) })));
    return [...ids];
  }

  /** The recorded task a submission's child key (under its parent) or idempotency key names. */
  private known(valid: ValidSubmission): string | undefined {
    const { ledger } = this.root;
    if (valid.childKey !== undefined) return ledger.idForChildKey(valid.parentId!, valid.childKey);
    return valid.key === undefined ? undefined : ledger.idForKey(valid.key);
  }

  private async accept(valid: ValidSubmission, graph?: GraphFields): Promise<string> {
    const { ledger, options } = this.root;
    const known = this.known(valid);
    if (known !== undefined) {
      // Answered only once the key's task is durable, as its own submission was.
      await this.root.submissionDurable(known);
      return known;
    }
    if (valid.cache !== undefined) {
      const answered = await answerFromCache(this.root, valid as CachedSubmission);
      if (answered !== undefined) return answered;
    }
    const now = options.clock.now();
    const { dependsOn, cache, ...rest } = valid;
    // Graph tasks name their parents by id once the graph is resolved; a root has none.
    const parents = graph === undefined ? dependsOn : graph.dependsOn;
    const task: TaskRecord = {
      id: graph?.id ?? newId(),
      seq: ledger.nextSeq(),
      kind: options.agents.get(valid.agent)!.kind,
      ...rest,
      ...(graph === undefined ? {} : { name: graph.name, graph: graph.graph, rank: graph.rank }),
      ...(parents === undefined ? {} : { dependsOn: parents }),
      ...(cache === undefined ? {} : { cacheKey: cache.key }),
      // With parents it waits for them; the ledger judges it as it records it (they may be done).
      state: parents === undefined ? 'queued' : 'blocked',
      attempt: 0,
      submittedAt: now,
    };
    await this.root.publishCommitted({ type: 'task.submitted', task, at: now });
    // Two submissions with one key (or child key) in the same round: the first recorded wins.
    const winner = this.known(valid) ?? task.id;
    if (winner !== task.id) await this.root.submissionDurable(winner);
    // Refused for its cache key (a task in flight took it in the same round): it joins that task.
    if (valid.cache !== undefined && winner === task.id && ledger.get(task.id) === undefined) {
      const joined = await joinedAfterRefusal(this.root, valid as CachedSubmission);
      if (joined === undefined) throw new TroupeError('TROUPE_INVALID_TASK', 'the task was refused: the task it would join is gone');
      return joined;
    }
    return winner;
  }
}

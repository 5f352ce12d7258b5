import Denque from 'denque';
import { cacheSlot } from '../core/cache.js';
import { TERMINAL_STATES, type Priority, type TaskRecord, type TaskState } from '../core/task.js';

/** One entry of the retention queue (an entry no longer in `finishedEntry` is stale). */
interface Finished {
  readonly id: string;
}

/**
 * The task records and the indexes kept beside them: counts by state, queued tasks by priority
 * and agent, idempotency and cache keys, open children of each parent, and the retention queue.
 * Every change of a task's state goes through `bump()`, rollbacks included, so no index can
 * disagree with the records. It decides nothing: the ledger changes records, this keeps count.
 */
export class TaskTable {
  readonly tasks = new Map<string, TaskRecord>();
  private readonly counts = new Map<TaskState, number>();
  private readonly queuedBy: Record<Priority, number> = { critical: 0, high: 0, normal: 0, low: 0 };
  private readonly queuedByAgentCounts = new Map<string, number>();
  private readonly keys = new Map<string, string>();
  /** Per cache slot (agent and cache key), the newest task that ran with it (never a cached copy). */
  private readonly cacheSources = new Map<string, string>();
  /** Finished tasks in the order they finished: retention prunes from the front. */
  private readonly finished = new Denque<Finished>();
  private readonly finishedEntry = new Map<string, Finished>();
  /** Children not ended yet, by parent id. */
  private readonly openChildren = new Map<string, Set<string>>();
  /** Every kept task a running task submitted (`parentId`), by that parent's id, in submission order. */
  private readonly spawned = new Map<string, Set<string>>();
  /** Every kept task bound to a manager (`managerId`), by that manager's id. */
  private readonly bound = new Map<string, Set<string>>();
  /** `parentId` NUL `childKey` → the child's id: a parent's re-run gets its children back. */
  private readonly childKeys = new Map<string, string>();
  private maxSeq = 0;

  count(state: TaskState): number {
    return this.counts.get(state) ?? 0;
  }

  queuedByAgent(): ReadonlyMap<string, number> {
    return this.queuedByAgentCounts;
  }

  queuedByPriority(): Record<Priority, number> {
    return { ...this.queuedBy };
  }

  idForKey(key: string): string | undefined {
    return this.keys.get(key);
  }

  cacheSourceId(agent: string, cacheKey: string): string | undefined {
    return this.cacheSources.get(cacheSlot(agent, cacheKey));
  }

  childrenOf(id: string): ReadonlySet<string> | undefined {
    return this.openChildren.get(id);
  }

  /** The tasks `id` submitted while it ran (kept ones, ended or not); undefined when none. */
  spawnedBy(id: string): ReadonlySet<string> | undefined {
    return this.spawned.get(id);
  }

  /** The tasks bound to manager `id` now (kept ones, ended or not); undefined when none. */
  boundTo(id: string): ReadonlySet<string> | undefined {
    return this.bound.get(id);
  }

  idForChildKey(parentId: string, childKey: string): string | undefined {
    return this.childKeys.get(`${parentId}\u0000${childKey}`);
  }

  nextSeq(): number {
    this.maxSeq += 1;
    return this.maxSeq;
  }

  insert(task: TaskRecord): void {
    this.tasks.set(task.id, task);
    if (task.key !== undefined) this.keys.set(task.key, task.id);
    if (task.parentId !== undefined) this.linkSpawned(task, true);
    if (task.cacheKey !== undefined && task.cachedFrom === undefined) this.indexCacheSource(task);
    this.maxSeq = Math.max(this.maxSeq, task.seq);
    this.bump(task, 1);
  }

  remove(task: TaskRecord): void {
    this.tasks.delete(task.id);
    this.finishedEntry.delete(task.id);
    if (task.key !== undefined && this.keys.get(task.key) === task.id) this.keys.delete(task.key);
    if (task.parentId !== undefined) this.linkSpawned(task, false);
    if (task.cacheKey !== undefined) {
      // A rolled-back submission that had replaced an older source loses it: a later miss, not a wrong hit.
      const slot = cacheSlot(task.agent, task.cacheKey);
      if (this.cacheSources.get(slot) === task.id) this.cacheSources.delete(slot);
    }
    this.bump(task, -1);
  }

  /** The entry that marks `id` finished, if it is (what an undo puts back). */
  finishedMark(id: string): Finished | undefined {
    return this.finishedEntry.get(id);
  }

  /** Marks `id` finished (pruned in finishing order), puts back an earlier mark, or clears it. */
  setFinished(id: string, entry: Finished | 'new' | undefined): void {
    if (entry === undefined) {
      this.finishedEntry.delete(id);
      return;
    }
    const mark = entry === 'new' ? { id } : entry;
    if (entry === 'new') this.finished.push(mark);
    this.finishedEntry.set(id, mark);
  }

  /** Removes finished tasks: those that finished before `olderThan`, and all but the newest `keep`. */
  prune(olderThan: number, keep: number): string[] {
    const gone: string[] = [];
    const kept: Finished[] = [];
    while (this.finished.length > 0) {
      const entry = this.finished.peekFront()!;
      const task = this.tasks.get(entry.id);
      if (task === undefined || this.finishedEntry.get(entry.id) !== entry || !TERMINAL_STATES.has(task.state)) {
        this.finished.shift(); // stale
        continue;
      }
      if (this.finishedEntry.size - kept.length <= keep && (task.finishedAt ?? 0) >= olderThan) break;
      this.finished.shift();
      // A parent whose children have not ended stays: they need its state and its result. So does
      // a child whose parent has not ended: the parent's re-run finds it by its key and waits on it.
      if (this.openChildren.has(task.id) || this.parentOpen(task)) kept.push(entry);
      else {
        this.remove(task);
        gone.push(task.id);
      }
    }
    for (const entry of kept.reverse()) this.finished.unshift(entry);
    return gone;
  }

  /** Counts `task` in (+1) or out of (-1) the tallies of its current state. */
  bump(task: TaskRecord, delta: number): void {
    this.counts.set(task.state, (this.counts.get(task.state) ?? 0) + delta);
    if (task.dependsOn !== undefined && !TERMINAL_STATES.has(task.state)) this.linkChild(task, delta > 0);
    // Every change is bracketed by bump(-1) and bump(+1): a new binding moves the task between sets.
    if (task.managerId !== undefined) link(this.bound, task.managerId, task.id, delta > 0);
    if (task.state !== 'queued') return;
    this.queuedBy[task.priority] += delta;
    const n = (this.queuedByAgentCounts.get(task.agent) ?? 0) + delta;
    if (n === 0) this.queuedByAgentCounts.delete(task.agent);
    else this.queuedByAgentCounts.set(task.agent, n);
  }

  private parentOpen(task: TaskRecord): boolean {
    if (task.parentId === undefined) return false;
    const parent = this.tasks.get(task.parentId);
    return parent !== undefined && !TERMINAL_STATES.has(parent.state);
  }

  private linkSpawned(child: TaskRecord, add: boolean): void {
    const parent = child.parentId!;
    link(this.spawned, parent, child.id, add);
    if (child.childKey === undefined) return;
    const keyed = `${parent}\u0000${child.childKey}`;
    if (add) this.childKeys.set(keyed, child.id);
    else if (this.childKeys.get(keyed) === child.id) this.childKeys.delete(keyed);
  }

  /** The newest (by submission order) task that ran with a key is its source, whatever order `load()` reads them in. */
  private indexCacheSource(task: TaskRecord): void {
    const slot = cacheSlot(task.agent, task.cacheKey!);
    const current = this.tasks.get(this.cacheSources.get(slot) ?? '');
    if (current === undefined || current.id === task.id || current.seq < task.seq) this.cacheSources.set(slot, task.id);
  }

  private linkChild(child: TaskRecord, add: boolean): void {
    for (const parent of child.dependsOn!) {
      let set = this.openChildren.get(parent);
      if (add) {
        if (set === undefined) this.openChildren.set(parent, (set = new Set()));
        set.add(child.id);
      } else if (set !== undefined) {
        set.delete(child.id);
        if (set.size === 0) this.openChildren.delete(parent);
      }
    }
  }
}

function link(index: Map<string, Set<string>>, key: string, id: string, add: boolean): void {
  let set = index.get(key);
  if (add) {
    if (set === undefined) index.set(key, (set = new Set()));
    set.add(id);
  } else if (set !== undefined) {
    set.delete(id);
    if (set.size === 0) index.delete(key);
  }
}

import TinyQueue from 'tinyqueue';
import { PRIORITIES, type AgentKind, type Priority } from '../../core/task.js';
import { gateKeys } from '../breaker/keys.js';
import { RateLimits } from './rate-limits.js';
import { ahead, type Limits, type SchedTask } from './sched-task.js';
import { bump, familyKey, Usage } from './usage.js';
import { entryAhead, type Claims, type Entry, type Group, type Lane, type Level } from './lanes.js';

export type { Limits, SchedTask };

const NO_RATES = new RateLimits(new Map());

/**
 * The Queue actor's pure scheduling logic: priority levels (strict); within a level, fairness
 * groups take turns (round-robin among those with a task that may run); within a group, the
 * highest critical-path rank first (graph tasks), then FIFO by `seq` across lanes. Per-agent,
 * per-resource and per-group concurrency, start rate limits, per-kind dispatch credits, and keys
 * held back by their breaker. No I/O and no clock: the actor feeds it the time and acts on its answers.
 */
export class Scheduler {
  private readonly lanes = new Map<string, Lane>();
  private readonly levels: Level[] = PRIORITIES.map(() => ({ groups: new Map(), turns: [] }));
  /** The live entry of every queued task: a task is queued at most once. */
  private readonly queued = new Map<string, Entry>();
  private readonly depth = new Map<Priority, number>(PRIORITIES.map((p) => [p, 0]));
  private readonly usage: Usage;
  /** Set by `next()` when it bound a distributed task to a manager as it took it. */
  private chosen: { id: string; manager: string } | undefined;
  /** Caps by key (`agent:x`, `resource:y`): 0 while a breaker is open or a hold lasts, trials half-open. */
  private readonly caps = new Map<string, number>();
  readonly credits: Record<AgentKind, number> = { module: 0, command: 0 };
  /** Enqueues so far: each entry's place in its lane. */
  private enqueued = 0;
  /** Set by `next()`: the earliest time a lane held back only by a rate limit may start. */
  private wake: number | undefined;

  constructor(
    private readonly limits: Limits,
    private readonly rates: RateLimits = NO_RATES,
  ) {
    this.usage = new Usage(limits.workspaceOf);
  }

  /**
   * After a `next()` that found nothing to run: when a lane that only a rate limit held back may
   * start (undefined if none). The actor sets a timer for it.
   */
  get wakeAt(): number | undefined {
    return this.wake;
  }

  get size(): number {
    return this.queued.size;
  }

  has(id: string): boolean {
    return this.queued.has(id);
  }

  /**
   * Adds a task at the back of its lane, or at the front when it goes back after a lost run.
   * A task that is already queued stays where it is (it must never be dispatched twice).
   */
  enqueue(task: SchedTask, front = false): void {
    if (this.queued.has(task.id)) return;
    const lane = this.laneFor(task);
    this.enqueued += 1;
    const entry: Entry = { task, lane, pos: front ? -this.enqueued : this.enqueued, removed: false };
    lane.tasks.push(entry);
    lane.live += 1;
    if (++lane.group.live === 1) lane.group.level.turns.push(lane.group);
    this.queued.set(task.id, entry);
    this.depth.set(task.priority, (this.depth.get(task.priority) ?? 0) + 1);
  }

  /** Removes a queued task (lazily: its lane skips it later). Returns false if it was not queued. */
  remove(task: SchedTask): boolean {
    const entry = this.queued.get(task.id);
    if (entry === undefined) return false;
    this.queued.delete(task.id);
    entry.removed = true;
    entry.lane.live -= 1;
    this.leave(entry.lane.group);
    this.depth.set(entry.task.priority, (this.depth.get(entry.task.priority) ?? 0) - 1);
    return true;
  }

  /**
   * Takes the next task allowed to run at `now` (the runtime clock; only rate limits read it), and
   * charges its agent, resources, group, rate limits and credit. The first group in turn order
   * with a task that may run gets it, then goes to the back of the turns.
   */
  next(now = 0): SchedTask | undefined {
    this.wake = undefined;
    for (const level of this.levels) {
      const turns = level.turns;
      for (let i = 0; i < turns.length; i++) {
        const lane = this.bestLane(turns[i]!, now);
        if (lane === undefined) continue;
        if (i < turns.length - 1) turns.push(...turns.splice(i, 1));
        return this.take(lane, now);
      }
    }
    return undefined;
  }

  /** The group's lane whose head goes first among those that may run now, by rank and `seq`. */
  private bestLane(group: Group, now: number): Lane | undefined {
    let best: Lane | undefined;
    let bestHead: SchedTask | undefined;
    for (const lane of group.lanes) {
      const head = this.head(lane);
      if (head === undefined || (bestHead !== undefined && ahead(head, bestHead) >= 0)) continue;
      if (this.credits[lane.kind] > 0 && !this.rebound(lane, head) && this.canRun(lane, now)) {
        best = lane;
        bestHead = head;
      }
    }
    return best;
  }

  /**
   * True when the head's binding changed since it was queued in this lane (its manager ended and the
   * ledger bound it anew, in this very round): it waits for the Queue to move it to its new lane,
   * never runs (or is charged) under the manager it left.
   */
  private rebound(lane: Lane, head: SchedTask): boolean {
    const { parent, pool } = lane.group;
    if (pool !== undefined) return head.managerId !== undefined;
    return parent !== undefined && familyKey(head) !== parent;
  }

  /** Charges a task that is already running (used when rebuilding state after a restart). */
  acquire(task: SchedTask): void {
    this.usage.acquire(task);
  }

  /** Releases what a running task held, once it has finished or gone back to the queue. */
  release(task: SchedTask): void {
    this.usage.release(task);
  }

  /** The manager the last `next()` bound its task to (an unbound distributed task), if it did. */
  boundManager(id: string): string | undefined {
    return this.chosen?.id === id ? this.chosen.manager : undefined;
  }

  /**
   * Caps how many tasks of a key (`agent:<name>` or `resource:<name>`) run at once, on top of the
   * configured limits: `Infinity` lets them run freely, 0 holds them back (they stay queued).
   */
  setCap(key: string, cap: number): void {
    if (cap === Infinity) this.caps.delete(key);
    else this.caps.set(key, cap);
  }

  depthByPriority(): Record<Priority, number> {
    return Object.fromEntries(this.depth) as Record<Priority, number>;
  }

  /**
   * Queued tasks that only lack a credit to run: the demand the Agent actor should scale for.
   * Counts no more than agent and resource limits admit at once (a lane of 100 tasks whose agent
   * has 2 free slots waits with 2), handing out free room lane by lane in dispatch order: by
   * priority, then by head rank and `seq`. Lanes blocked by a limit, a rate limit at `now` or a
   * breaker count 0.
   */
  waiting(now = 0): Record<AgentKind, number> {
    const out: Record<AgentKind, number> = { module: 0, command: 0 };
    const claims: Claims = { agents: new Map(), resources: new Map(), groups: new Map(), parents: new Map(), workspaces: new Map() };
    for (const level of this.levels) {
      for (const lane of this.byHeadSeq(level)) {
        let n = Math.min(lane.live, this.room(lane, claims));
        if (lane.rated && n > 0) n = Math.min(n, this.rateRoom(lane, now, claims));
        if (n <= 0) continue;
        out[lane.kind] += n;
        bump(claims.agents, lane.agent, n);
        for (const r of lane.resources) bump(claims.resources, r, n);
        if (lane.group.name !== undefined) bump(claims.groups, lane.group.name, n);
        if (lane.group.parent !== undefined) bump(claims.parents, lane.group.parent, n);
        if (lane.workspace !== undefined) bump(claims.workspaces, lane.workspace, n);
        let left = n; // a pool's claims go to its managers with room, in turn
        for (const m of lane.group.pool ?? []) {
          const take = Math.min(left, this.familyRoom(m, claims, true));
          bump(claims.parents, m, take);
          left -= take;
        }
      }
    }
    return out;
  }

  running(agent: string): number {
    return this.usage.agents.get(agent) ?? 0;
  }

  private take(lane: Lane, now: number): SchedTask {
    const { task } = lane.tasks.pop()!;
    const pool = lane.group.pool;
    const manager = pool === undefined ? undefined : this.freest(pool);
    this.chosen = manager === undefined ? undefined : { id: task.id, manager };
    lane.live -= 1;
    this.leave(lane.group);
    this.queued.delete(task.id);
    this.depth.set(task.priority, (this.depth.get(task.priority) ?? 0) - 1);
    this.credits[task.kind] -= 1;
    this.usage.acquire(task, manager ?? lane.group.parent ?? familyKey(task));
    if (lane.rated) for (const key of lane.keys) this.rates.record(key, now);
    return task;
  }

  /**
   * One task of the group left the queue. A group with nothing queued leaves the turns (it comes
   * back at the end); a named one is dropped with its lanes, so groups that come and go stay cheap.
   */
  private leave(group: Group): void {
    if (--group.live > 0) return;
    const turns = group.level.turns;
    const at = turns.indexOf(group);
    // Usually the last (it just had its turn), often the only one: pop() allocates nothing.
    if (at === turns.length - 1) turns.pop();
    else turns.splice(at, 1);
    if (group.key === undefined) return;
    group.level.groups.delete(group.key);
    for (const lane of group.lanes) this.lanes.delete(lane.id);
  }

  /** May the lane's head run now? One held back only by a rate limit moves `wake` to its next start. */
  private canRun(lane: Lane, now: number): boolean {
    if (this.room(lane) <= 0) return false;
    if (!lane.rated || this.rateRoom(lane, now) > 0) return true;
    for (const key of lane.keys) {
      if (this.rates.room(key, now) === 0) this.wake = Math.min(this.wake ?? Infinity, this.rates.nextAt(key, now));
    }
    return false;
  }

  /** Starts the rate limits of the lane's keys admit at `now`, after what `claims` holds. */
  private rateRoom(lane: Lane, now: number, claims?: Claims): number {
    let room = Infinity;
    lane.keys.forEach((key, i) => {
      if (!this.rates.has(key)) return;
      const claimed = i === 0 ? claims?.agents.get(lane.agent) : claims?.resources.get(lane.resources[i - 1]!);
      room = Math.min(room, this.rates.room(key, now) - (claimed ?? 0));
    });
    return Math.max(0, room);
  }

  /**
   * How many more of the lane's tasks its agent (limit and breaker cap) and every one of its
   * resources admit now, after what runs and what `claims` holds. Never negative.
   */
  private room(lane: Lane, claims?: Claims): number {
    let room = this.limits.agentConcurrency(lane.agent) - this.running(lane.agent) - (claims?.agents.get(lane.agent) ?? 0);
    if (this.caps.size > 0) room = Math.min(room, this.capRoom(lane, claims));
    for (const r of lane.resources) {
      const used = (this.usage.resources.get(r) ?? 0) + (claims?.resources.get(r) ?? 0);
      room = Math.min(room, this.limits.resourceConcurrency(r) - used);
    }
    const group = lane.group.name;
    if (group !== undefined && this.limits.groupConcurrency !== undefined) {
      const used = (this.usage.groups.get(group) ?? 0) + (claims?.groups.get(group) ?? 0);
      room = Math.min(room, this.limits.groupConcurrency(group) - used);
    }
    if (lane.workspace !== undefined) room = Math.min(room, this.workspaceRoom(lane.workspace, claims));
    const parent = lane.group.parent;
    if (parent !== undefined) room = Math.min(room, this.familyRoom(parent, claims));
    const pool = lane.group.pool;
    if (pool !== undefined) room = Math.min(room, pool.reduce((sum, m) => sum + this.familyRoom(m, claims, true), 0));
    return Math.max(0, room);
  }

  /** Runs a repository's worktrees admit now: none while its disk budget is spent, else up to `maxWorktrees`. */
  private workspaceRoom(repo: string, claims?: Claims): number {
    if (this.limits.workspaceHeld?.(repo) === true) return 0;
    const used = (this.usage.workspaces.get(repo) ?? 0) + (claims?.workspaces.get(repo) ?? 0);
    return (this.limits.workspaceConcurrency?.(repo) ?? Infinity) - used;
  }

  /** Free child slots of a parent (or of a candidate manager), after what runs under it and what `claims` holds. */
  private familyRoom(key: string, claims?: Claims, candidate = false): number {
    const used = (this.usage.parents.get(key) ?? 0) + (claims?.parents.get(key) ?? 0);
    const limit = candidate ? (this.limits.managerConcurrency ?? this.limits.childConcurrency)!(key) : this.limits.childConcurrency!(key);
    return Math.max(0, limit - used);
  }

  /** The candidate manager with the most free slots (the first of them on a tie): where an unbound task goes. */
  private freest(pool: readonly string[]): string | undefined {
    let best: string | undefined;
    let most = 0;
    for (const m of pool) {
      const free = this.familyRoom(m, undefined, true);
      if (free > most) [best, most] = [m, free];
    }
    return best;
  }

  /** Room left under the caps of the lane's keys (a cap counts what runs of that key). */
  private capRoom(lane: Lane, claims?: Claims): number {
    // lane.keys is [agent key, ...one key per resource, in lane.resources order].
    const agentCap = this.caps.get(lane.keys[0]!) ?? Infinity;
    let room = agentCap - this.running(lane.agent) - (claims?.agents.get(lane.agent) ?? 0);
    lane.resources.forEach((r, i) => {
      const cap = this.caps.get(lane.keys[i + 1]!);
      if (cap !== undefined) room = Math.min(room, cap - (this.usage.resources.get(r) ?? 0) - (claims?.resources.get(r) ?? 0));
    });
    return room;
  }

  /** The level's lanes that hold live tasks, in dispatch order of their heads (groups aside). */
  private byHeadSeq(level: Level): Lane[] {
    const heads = new Map<Lane, SchedTask>();
    for (const group of level.turns) {
      for (const lane of group.lanes) {
        const head = this.head(lane);
        if (head !== undefined) heads.set(lane, head);
      }
    }
    return [...heads.keys()].sort((a, b) => ahead(heads.get(a)!, heads.get(b)!));
  }

  /** The lane's first live task, dropping removed entries on the way. */
  private head(lane: Lane): SchedTask | undefined {
    for (let entry = lane.tasks.peek(); entry !== undefined; entry = lane.tasks.peek()) {
      if (!entry.removed) return entry.task;
      lane.tasks.pop();
    }
    return undefined;
  }

  private laneFor(task: SchedTask): Lane {
    const base = `${task.priority}\u0000${task.agent}\u0000${task.resources.join('\u0000')}`;
    const family = this.familyOf(task);
    const grouped = task.group === undefined ? base : `${base}\u0001${task.group}`;
    const id = family === undefined ? grouped : `${grouped}\u0002${family.key}`;
    let lane = this.lanes.get(id);
    if (lane === undefined) {
      const { priority, agent, kind, resources } = task;
      const keys = gateKeys(task);
      const group = this.groupFor(this.levels[PRIORITIES.indexOf(priority)]!, task.group, family);
      const rated = this.rates.any && keys.some((k) => this.rates.has(k));
      const workspace = this.limits.workspaceOf?.(agent);
      lane = { id, group, rated, priority, agent, kind, resources, workspace, keys, tasks: new TinyQueue<Entry>([], entryAhead), live: 0 };
      this.lanes.set(id, lane);
      group.lanes.push(lane);
    }
    return lane;
  }

  /**
   * What limits the task's family: its unbound candidate managers (a pool, bound at dispatch), or
   * the parent or manager it counts against if that one has a limit. Only then does it queue apart.
   */
  private familyOf(task: SchedTask): { key: string; parent?: string; pool?: readonly string[] } | undefined {
    if (this.limits.childConcurrency === undefined) return undefined;
    if (task.managers !== undefined && task.managerId === undefined) return { key: `\u0003${task.managers.join('\u0003')}`, pool: task.managers };
    const parent = familyKey(task);
    if (parent === undefined || this.limits.childConcurrency(parent) === Infinity) return undefined;
    return { key: parent, parent };
  }

  /** A family forms a group of its own (dropped once empty), taking turns with the others. */
  private groupFor(level: Level, name: string | undefined, family: { key: string; parent?: string; pool?: readonly string[] } | undefined): Group {
    const key = family === undefined ? name : `${name ?? ''}\u0002${family.key}`;
    let group = level.groups.get(key);
    if (group === undefined) {
      group = { key, name, parent: family?.parent, pool: family?.pool, level, lanes: [], live: 0 };
      level.groups.set(key, group);
    }
    return group;
  }
}

import TinyQueue from 'tinyqueue';
import { PRIORITIES, type AgentKind, type Priority } from '../../core/task.js';
import { gateKeys } from '../breaker/keys.js';
import { RateLimits } from './rate-limits.js';
import { ahead, type Limits, type SchedTask } from './sched-task.js';

export type { Limits, SchedTask };

/**
 * Order within a lane: tasks put back after a lost run first (the latest first), then higher rank,
 * then the order they were enqueued in (`seq` orders lanes against each other, not tasks in one).
 */
function entryAhead(a: Entry, b: Entry): number {
  return Number(a.pos > 0) - Number(b.pos > 0) || (b.task.rank ?? 0) - (a.task.rank ?? 0) || a.pos - b.pos;
}

/**
 * Tasks that share priority, agent and resources form a lane. Every task of a lane has the same
 * constraints, so if a lane's head cannot run, none of it can: dispatch never scans past a head.
 */
interface Lane {
  /** Its key in `Scheduler.lanes`. */
  readonly id: string;
  readonly group: Group;
  /** True when one of `keys` has a rate limit: only such lanes consult the limiter. */
  readonly rated: boolean;
  readonly priority: Priority;
  readonly agent: string;
  readonly kind: AgentKind;
  readonly resources: readonly string[];
  /** `agent:<name>` and `resource:<name>` of each resource: the keys whose caps hold the lane back. */
  readonly keys: readonly string[];
  /** A heap in `entryAhead` order (plain FIFO for tasks without a rank). */
  readonly tasks: TinyQueue<Entry>;
  /** Entries in `tasks` that were not removed. */
  live: number;
}

/**
 * One queued task in its lane. Removal only flags the entry (the lane skips it when it reaches
 * it), so a task removed and enqueued again has a new entry and its old one stays dead.
 */
interface Entry {
  readonly task: SchedTask;
  readonly lane: Lane;
  /** Enqueue order: 1, 2, 3… at the back; -1, -2… at the front (a lost run's task). */
  readonly pos: number;
  removed: boolean;
}

/**
 * The lanes of one fairness group within a priority level. The default group (no name) lives as
 * long as the scheduler; a named group is dropped, lanes and all, once it has nothing queued.
 */
interface Group {
  /** Its key in `Level.groups`. */
  readonly key: string | undefined;
  readonly name: string | undefined;
  /** Set for the children of a parent with a `maxChildren` limit: they queue apart, under that limit. */
  readonly parent: string | undefined;
  readonly level: Level;
  readonly lanes: Lane[];
  /** Live entries in its lanes. */
  live: number;
}

/** A priority level: its groups, and those with queued tasks in turn order (the front's turn is next). */
interface Level {
  readonly groups: Map<string | undefined, Group>;
  readonly turns: Group[];
}

/** Concurrency claimed by a what-if count, on top of what really runs. */
interface Claims {
  agents: Map<string, number>;
  resources: Map<string, number>;
  groups: Map<string, number>;
  parents: Map<string, number>;
}


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
  private readonly agentRunning = new Map<string, number>();
  private readonly resourceRunning = new Map<string, number>();
  private readonly groupRunning = new Map<string, number>();
  private readonly parentRunning = new Map<string, number>();
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
  ) {}

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
      if (this.credits[lane.kind] > 0 && this.canRun(lane, now)) {
        best = lane;
        bestHead = head;
      }
    }
    return best;
  }

  /** Charges a task that is already running (used when rebuilding state after a restart). */
  acquire(task: SchedTask): void {
    bump(this.agentRunning, task.agent, 1);
    for (const r of task.resources) bump(this.resourceRunning, r, 1);
    if (task.group !== undefined) bump(this.groupRunning, task.group, 1);
    if (task.parentId !== undefined) bump(this.parentRunning, task.parentId, 1);
  }

  /** Releases what a running task held, once it has finished or gone back to the queue. */
  release(task: SchedTask): void {
    bump(this.agentRunning, task.agent, -1);
    for (const r of task.resources) bump(this.resourceRunning, r, -1);
    if (task.group !== undefined) bump(this.groupRunning, task.group, -1);
    if (task.parentId !== undefined) bump(this.parentRunning, task.parentId, -1);
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
    const claims: Claims = { agents: new Map(), resources: new Map(), groups: new Map(), parents: new Map() };
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
      }
    }
    return out;
  }

  running(agent: string): number {
    return this.agentRunning.get(agent) ?? 0;
  }

  private take(lane: Lane, now: number): SchedTask {
    const { task } = lane.tasks.pop()!;
    lane.live -= 1;
    this.leave(lane.group);
    this.queued.delete(task.id);
    this.depth.set(task.priority, (this.depth.get(task.priority) ?? 0) - 1);
    this.credits[task.kind] -= 1;
    this.acquire(task);
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
      const used = (this.resourceRunning.get(r) ?? 0) + (claims?.resources.get(r) ?? 0);
      room = Math.min(room, this.limits.resourceConcurrency(r) - used);
    }
    const group = lane.group.name;
    if (group !== undefined && this.limits.groupConcurrency !== undefined) {
      const used = (this.groupRunning.get(group) ?? 0) + (claims?.groups.get(group) ?? 0);
      room = Math.min(room, this.limits.groupConcurrency(group) - used);
    }
    const parent = lane.group.parent;
    if (parent !== undefined) {
      const used = (this.parentRunning.get(parent) ?? 0) + (claims?.parents.get(parent) ?? 0);
      room = Math.min(room, this.limits.childConcurrency!(parent) - used);
    }
    return Math.max(0, room);
  }

  /** Room left under the caps of the lane's keys (a cap counts what runs of that key). */
  private capRoom(lane: Lane, claims?: Claims): number {
    // lane.keys is [agent key, ...one key per resource, in lane.resources order].
    const agentCap = this.caps.get(lane.keys[0]!) ?? Infinity;
    let room = agentCap - this.running(lane.agent) - (claims?.agents.get(lane.agent) ?? 0);
    lane.resources.forEach((r, i) => {
      const cap = this.caps.get(lane.keys[i + 1]!);
      if (cap !== undefined) room = Math.min(room, cap - (this.resourceRunning.get(r) ?? 0) - (claims?.resources.get(r) ?? 0));
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
    const parent = this.limitedParent(task);
    const grouped = task.group === undefined ? base : `${base}\u0001${task.group}`;
    const id = parent === undefined ? grouped : `${grouped}\u0002${parent}`;
    let lane = this.lanes.get(id);
    if (lane === undefined) {
      const { priority, agent, kind, resources } = task;
      const keys = gateKeys(task);
      const group = this.groupFor(this.levels[PRIORITIES.indexOf(priority)]!, task.group, parent);
      const rated = this.rates.any && keys.some((k) => this.rates.has(k));
      lane = { id, group, rated, priority, agent, kind, resources, keys, tasks: new TinyQueue<Entry>([], entryAhead), live: 0 };
      this.lanes.set(id, lane);
      group.lanes.push(lane);
    }
    return lane;
  }

  /** The task's parent, if that parent limits its children (only then do they queue apart). */
  private limitedParent(task: SchedTask): string | undefined {
    if (task.parentId === undefined || this.limits.childConcurrency === undefined) return undefined;
    return this.limits.childConcurrency(task.parentId) === Infinity ? undefined : task.parentId;
  }

  /** A parent's children form a group of their own (dropped once empty), taking turns with the others. */
  private groupFor(level: Level, name: string | undefined, parent: string | undefined): Group {
    const key = parent === undefined ? name : `${name ?? ''}\u0002${parent}`;
    let group = level.groups.get(key);
    if (group === undefined) {
      group = { key, name, parent, level, lanes: [], live: 0 };
      level.groups.set(key, group);
    }
    return group;
  }
}

function bump(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

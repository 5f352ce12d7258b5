import Denque from 'denque';
import type { AgentKind } from '../../core/task.js';

/** One kind's books. */
interface Books<S> {
  /** Dispatched and started, waiting for the start to be committed and durable, by task id. */
  readonly starting: Map<string, S>;
  /** Durably started, waiting for a thread or process slot, oldest first. */
  readonly ready: Denque<S>;
  /** On a thread or in a process. */
  launched: number;
  /** Credits granted to the Queue and not used by a dispatch yet. */
  outstanding: number;
}

export const KINDS: readonly AgentKind[] = ['module', 'command'];

/**
 * The Agent actor's slot ledger, per kind: the credits it granted the Queue and the tasks it holds
 * in each stage (starting → ready → launched). Pure bookkeeping: no I/O, no clock; the actor
 * publishes what its answers say (credits to grant, runs to launch).
 *
 * Invariant, per kind (`check()` asserts it):
 * - busy = starting + ready + launched: a held task is in exactly one stage;
 * - nothing is negative;
 * - outstanding + busy <= capacity after every grant (`grantAfresh`, `refill`) for that capacity:
 *   credits are never granted beyond it. A dispatch moves a credit into busy (the sum does not
 *   grow); only a smaller capacity (the pool shrank) or a dispatch the Queue made on a credit
 *   forgotten by a reset can leave the sum above it, and then nothing is granted until it is not.
 */
export class SlotLedger<S> {
  private readonly books: Record<AgentKind, Books<S>> = { module: books(), command: books() };
  /** The kind of every task held while starting or ready. */
  private readonly kinds = new Map<string, AgentKind>();

  constructor(private readonly idOf: (spec: S) => string) {}

  /** Tasks held in any stage: what the credits account for. */
  busy(kind: AgentKind): number {
    const b = this.books[kind];
    return b.starting.size + b.ready.length + b.launched;
  }

  launched(kind: AgentKind): number {
    return this.books[kind].launched;
  }

  outstanding(kind: AgentKind): number {
    return this.books[kind].outstanding;
  }

  /** Forgets the credits granted before and grants every free slot again: returns how many it grants. */
  grantAfresh(kind: AgentKind, capacity: number): number {
    const b = this.books[kind];
    b.outstanding = Math.max(0, capacity - this.busy(kind));
    return b.outstanding;
  }

  /** Grants the slots that are free and not granted yet: returns how many (0: nothing to publish). */
  refill(kind: AgentKind, capacity: number): number {
    const free = capacity - this.busy(kind) - this.books[kind].outstanding;
    if (free <= 0) return 0;
    this.books[kind].outstanding += free;
    return free;
  }

  /** A dispatch used a credit: the task is starting (its start is being committed and made durable). */
  dispatched(kind: AgentKind, id: string, spec: S): void {
    const b = this.books[kind];
    b.outstanding = Math.max(0, b.outstanding - 1);
    b.starting.set(id, spec);
    this.kinds.set(id, kind);
  }

  /** The task if it is starting (its start not durable yet), else undefined. */
  starting(id: string): S | undefined {
    const kind = this.kinds.get(id);
    return kind === undefined ? undefined : this.books[kind].starting.get(id);
  }

  /** The task's start is durable: it waits for a slot. Undefined if it was not starting. */
  started(id: string): S | undefined {
    const kind = this.kinds.get(id);
    const spec = kind === undefined ? undefined : this.books[kind].starting.get(id);
    if (spec === undefined) return undefined;
    this.books[kind!].starting.delete(id);
    this.books[kind!].ready.push(spec);
    return spec;
  }

  /**
   * Drops a task that is starting or ready (never launched): cancelled or requeued before it ran.
   * Returns its spec and kind, or undefined if it is in neither stage.
   */
  drop(id: string): { spec: S; kind: AgentKind } | undefined {
    const kind = this.kinds.get(id);
    if (kind === undefined) return undefined;
    this.kinds.delete(id);
    const b = this.books[kind];
    const starting = b.starting.get(id);
    if (starting !== undefined) {
      b.starting.delete(id);
      return { spec: starting, kind };
    }
    const waiting = b.ready.toArray();
    const at = waiting.findIndex((s) => this.idOf(s) === id);
    if (at < 0) return undefined;
    b.ready.removeOne(at);
    return { spec: waiting[at]!, kind };
  }

  /** Tasks ready to launch. */
  ready(kind: AgentKind): number {
    return this.books[kind].ready.length;
  }

  /** The i-th ready task (0: the next to launch), or undefined. */
  peekReady(kind: AgentKind, i: number): S | undefined {
    return this.books[kind].ready.peekAt(i);
  }

  /** The next ready task to launch while fewer than `slots` run: it counts as launched. */
  launchNext(kind: AgentKind, slots: number): S | undefined {
    const b = this.books[kind];
    if (b.launched >= slots) return undefined;
    const spec = b.ready.shift();
    if (spec === undefined) return undefined;
    this.kinds.delete(this.idOf(spec));
    b.launched += 1;
    return spec;
  }

  /** A launched run is over: its slot is free. */
  finished(kind: AgentKind): void {
    const b = this.books[kind];
    if (b.launched === 0) throw new Error(`slot ledger: no ${kind} run to finish`);
    b.launched -= 1;
  }

  /** Forgets every task not launched yet (the runtime is stopping: they go back to the queue). */
  clearWaiting(): void {
    for (const kind of KINDS) {
      this.books[kind].starting.clear();
      this.books[kind].ready.clear();
    }
    this.kinds.clear();
  }

  /** Throws if the invariant does not hold (tests, and `capacity` only right after a grant for it). */
  check(capacity?: Partial<Record<AgentKind, number>>): void {
    for (const kind of KINDS) {
      const b = this.books[kind];
      const parts = [b.starting.size, b.ready.length, b.launched, b.outstanding];
      if (parts.some((n) => n < 0 || !Number.isInteger(n))) throw new Error(`slot ledger: a negative count (${kind}: ${parts.join(', ')})`);
      const cap = capacity?.[kind];
      if (cap !== undefined && b.outstanding + this.busy(kind) > cap) {
        throw new Error(`slot ledger: ${b.outstanding} credits + ${this.busy(kind)} busy exceed the capacity ${cap} (${kind})`);
      }
    }
    const held = KINDS.reduce((n, k) => n + this.books[k].starting.size + this.books[k].ready.length, 0);
    if (held !== this.kinds.size) throw new Error(`slot ledger: ${this.kinds.size} tasks indexed, ${held} starting or ready`);
  }
}

function books<S>(): Books<S> {
  return { starting: new Map(), ready: new Denque<S>(), launched: 0, outstanding: 0 };
}

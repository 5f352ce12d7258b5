// Acknowledgements wait for durability: a watermark over commits, and the callbacks waiting on it.

interface Waiter {
  upTo: number;
  run: () => void;
  fail?: (err: Error) => void;
}

/**
 * Commits are numbered as they are written; a sync makes every commit up to its number durable.
 * Whatever waits for durability (a submission's promise, a result) waits on a commit number, never
 * on a copy of state: what actors and the API read is the committed view, one for all.
 */
export class Durability {
  /** Commits written so far. */
  written = 0;
  /** Commits known durable. */
  durable = 0;
  private waiting: Waiter[] = [];
  private failed: Error | undefined;

  /** True while something written is not yet known durable. */
  get behind(): boolean {
    return this.durable < this.written;
  }

  /**
   * Runs `fn` once everything written so far is durable: at once if it is already. `fail` gets
   * the reason if it never will be (a failed sync, a shutdown).
   */
  afterDurable(fn: () => void, fail?: (err: Error) => void): void {
    if (!this.behind) fn();
    else if (this.failed !== undefined) fail?.(this.failed);
    else this.waiting.push({ upTo: this.written, run: fn, fail });
  }

  /** Everything up to `upTo` is durable: runs what waited for it, oldest first. */
  reached(upTo: number): void {
    this.durable = Math.max(this.durable, upTo);
    if (this.waiting.length === 0) return;
    const ready = this.waiting.filter((w) => w.upTo <= this.durable);
    this.waiting = this.waiting.filter((w) => w.upTo > this.durable);
    for (const w of ready) w.run();
  }

  /**
   * What is written and not durable yet never will be (the sync failed, the runtime stopped): each
   * waiter learns why, and so does any later one while that is so.
   */
  fail(err: Error): void {
    this.failed ??= err;
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.fail?.(err);
  }
}

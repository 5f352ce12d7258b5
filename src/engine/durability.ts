// Acknowledgements wait for durability: a watermark over commits, and the callbacks waiting on it.

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
  private waiting: { upTo: number; run: () => void }[] = [];

  /** True while something written is not yet known durable. */
  get behind(): boolean {
    return this.durable < this.written;
  }

  /** Runs `fn` once everything written so far is durable: at once if it is already. */
  afterDurable(fn: () => void): void {
    if (!this.behind) fn();
    else this.waiting.push({ upTo: this.written, run: fn });
  }

  /** Everything up to `upTo` is durable: runs what waited for it, oldest first. */
  reached(upTo: number): void {
    this.durable = Math.max(this.durable, upTo);
    if (this.waiting.length === 0) return;
    const ready = this.waiting.filter((w) => w.upTo <= this.durable);
    this.waiting = this.waiting.filter((w) => w.upTo > this.durable);
    for (const w of ready) w.run();
  }

  /** Drops every waiter (shutdown: the caller answers them itself). */
  clear(): void {
    this.waiting = [];
  }
}

/** The windows `rates()` reports, in seconds. */
export const THROUGHPUT_WINDOWS = { '1s': 1, '10s': 10, '60s': 60 } as const;
export type ThroughputWindow = keyof typeof THROUGHPUT_WINDOWS;
/** Events per second over each window. */
export type Throughput = Record<ThroughputWindow, number>;

const SPAN = 60;
/** The widest window, plus the current (partial) second. */
const SLOTS = SPAN + 1;

/**
 * Events per second over the last 1, 10 and 60 whole seconds, from a fixed ring of per-second
 * buckets (bounded memory, no timers). Time is whatever clock the caller reads (milliseconds);
 * a bucket holds the events of one second, `Math.floor(ms / 1000)`. A window covers the whole
 * seconds before the current one (which is still filling), so a rate does not dip each time a new
 * second begins; an event shows in the rates once its second has ended. Events older than the ring
 * are dropped; a non-finite time is ignored.
 */
export class ThroughputRing {
  private readonly counts = new Array<number>(SLOTS).fill(0);
  /** The second each slot counts (NaN: none yet). */
  private readonly seconds = new Array<number>(SLOTS).fill(Number.NaN);

  record(now: number, n = 1): void {
    if (!Number.isFinite(now)) return;
    const second = Math.floor(now / 1000);
    const i = slot(second);
    const held = this.seconds[i]!;
    if (held === second) {
      this.counts[i]! += n;
    } else if (Number.isNaN(held) || held < second) {
      this.seconds[i] = second;
      this.counts[i] = n;
    } // else: older than the ring holds
  }

  rates(now: number): Throughput {
    const current = Math.floor(now / 1000);
    const sum = (window: number): number => {
      let total = 0;
      for (let s = current - window; s < current; s += 1) {
        const i = slot(s);
        if (this.seconds[i] === s) total += this.counts[i]!;
      }
      return total;
    };
    const out = {} as Throughput;
    for (const [name, window] of Object.entries(THROUGHPUT_WINDOWS) as Array<[ThroughputWindow, number]>) {
      out[name] = Number.isFinite(current) ? sum(window) / window : 0;
    }
    return out;
  }
}

const slot = (second: number): number => ((second % SLOTS) + SLOTS) % SLOTS;

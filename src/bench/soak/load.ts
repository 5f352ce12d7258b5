/**
 * The steady load: each kind's tasks submitted at its own constant rate (open loop: on time,
 * whatever the daemon's pace), one POST each, then each task's result long-polled until it ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from '../workloads/daemon/http-client.js';
import { KINDS, type Kind } from './outcomes.js';
import { KIND_PLANS, MAX_IN_FLIGHT, POLL_WAIT_MS } from './plan.js';
import type { Tally } from './tally.js';
import { taskOf } from './tasks.js';

/** How often the submitter catches up with the schedule. */
const TICK_MS = 50;
/** A poll that errors is tried again after this long, this many times at most. */
const POLL_RETRY_MS = 1_000;
const POLL_RETRIES = 5;

interface ResultBody {
  done: boolean;
  state?: string;
  result?: unknown;
  error?: string;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class Load {
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  /** Tasks scheduled so far per kind: the next one's index. */
  private readonly next = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  private readonly running = new Set<Promise<void>>();
  private posting = 0;
  private abandoned = false;

  constructor(
    private readonly api: ApiClient,
    private readonly tally: Tally,
    private readonly scale: number,
    private readonly phaseFile: string,
  ) {}

  start(t0: number): void {
    this.t0 = t0;
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Stops submitting; tasks already submitted are still followed. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Waits up to `timeoutMs` for every submitted task to end; then stops following the rest. Resolves with whether all ended. */
  async settle(timeoutMs: number): Promise<boolean> {
    const all = (async () => {
      while (this.running.size > 0) await Promise.all([...this.running]);
    })();
    const timer = new AbortController();
    const late = sleep(timeoutMs, false, { signal: timer.signal }).catch(() => false);
    const done = await Promise.race([all.then(() => true), late]);
    timer.abort(); // or its timer would keep the process alive
    this.abandoned = true;
    return done;
  }

  private tick(): void {
    const elapsedS = (performance.now() - this.t0) / 1000;
    for (const kind of KINDS) {
      const due = Math.floor(KIND_PLANS[kind].perSecond * this.scale * elapsedS);
      while (this.next[kind] < due) {
        if (this.tally.inFlight + this.posting >= MAX_IN_FLIGHT) {
          // Skipped, not postponed: the load stays at its rate instead of bursting to catch up.
          this.tally.throttled += due - this.next[kind];
          this.next[kind] = due;
          break;
        }
        const run = this.follow(kind, this.next[kind]++);
        this.running.add(run);
        void run.finally(() => this.running.delete(run));
      }
    }
  }

  /** Submits task `i` of `kind` and long-polls it to its end, recording both in the tally. */
  private async follow(kind: Kind, i: number): Promise<void> {
    const task = taskOf(kind, i, this.phaseFile);
    const t0 = performance.now();
    let id: string;
    this.posting += 1;
    try {
      ({ id } = await this.api.call<{ id: string }>('POST', '/v1/tasks', task.request));
    } catch (err) {
      this.tally.error(`submit ${kind} #${i}: ${message(err)}`);
      return;
    } finally {
      this.posting -= 1;
    }
    this.tally.accept(id, kind, task.expected);
    for (let errors = 0; !this.abandoned && errors <= POLL_RETRIES; ) {
      let body: ResultBody;
      try {
        body = await this.api.call<ResultBody>('GET', `/v1/tasks/${id}/result?waitMs=${POLL_WAIT_MS}`);
      } catch (err) {
        if (this.abandoned) return;
        errors += 1;
        this.tally.error(`poll ${kind} ${id}: ${message(err)}`);
        await sleep(POLL_RETRY_MS);
        continue;
      }
      if (body.done) {
        this.tally.end(id, { state: body.state ?? 'unknown', ...('result' in body ? { result: body.result } : {}), ...(body.error === undefined ? {} : { error: body.error }) }, performance.now() - t0);
        return;
      }
    }
  }
}

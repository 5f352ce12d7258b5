/**
 * The soak's clients of the daemon's event stream (`GET /v1/events`), open for the whole run:
 * one takes every event (it counts failed runs and the breakers' moves), one only outcomes
 * (succeeded, dead: one per task, checked against the tasks that ended), and one asks for
 * `metrics` snapshots and reconnects every few seconds, so that subscriptions come and go.
 */
import { openEvents, type SseFrame } from '../workloads/daemon/sse-client.js';
import type { Tally } from './tally.js';

export interface SseFigures {
  /** Frames received per client. */
  frames: Record<string, number>;
  /** `succeeded` and `dead` events on the outcome stream. */
  outcomeEvents: number;
  /** Events the daemon reported dropping (`dropped` frames), over all clients. */
  dropped: number;
  /** Connections made by the reconnecting client. */
  reconnects: number;
  /** Breaker moves seen, by key: how often each opened and closed. */
  breakers: Record<string, { opened: number; closed: number }>;
  /** Clients that failed to connect or reconnect, with why. */
  errors: string[];
}

type Endpoint = { socketPath: string };

export class SseClients {
  readonly figures: SseFigures = { frames: { all: 0, outcomes: 0, churn: 0 }, outcomeEvents: 0, dropped: 0, reconnects: 0, breakers: {}, errors: [] };
  private readonly open: Array<{ close(): void }> = [];
  private churn: { close(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly tally: Tally,
  ) {}

  /** Connects the three clients; resolves once each subscription is live. */
  async start(reconnectMs: number): Promise<void> {
    this.open.push(await openEvents(this.endpoint, '', (f) => this.onAll(f)));
    this.open.push(await openEvents(this.endpoint, '?type=succeeded,dead', (f) => this.onOutcome(f)));
    await this.reconnect();
    this.timer = setInterval(() => void this.reconnect(), reconnectMs);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const c of this.open) c.close();
    this.churn?.close();
  }

  private async reconnect(): Promise<void> {
    this.churn?.close();
    this.churn = undefined;
    try {
      const stream = await openEvents(this.endpoint, '?type=breaker&metricsMs=1000', (f) => this.count('churn', f));
      if (this.stopped) return stream.close();
      this.churn = stream;
      this.figures.reconnects += 1;
    } catch (err) {
      this.figures.errors.push(`reconnect: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private count(client: string, f: SseFrame): void {
    this.figures.frames[client]! += 1;
    this.tally.bucket().sseEvents += 1;
    if (f.type === 'dropped') this.figures.dropped += (JSON.parse(f.data) as { count: number }).count;
  }

  private onAll(f: SseFrame): void {
    this.count('all', f);
    if (f.type === 'failed') this.tally.bucket().failedRuns += 1;
    if (f.type !== 'breaker') return;
    const { key, state } = JSON.parse(f.data) as { key: string; state: string };
    const b = (this.figures.breakers[key] ??= { opened: 0, closed: 0 });
    if (state === 'open') {
      b.opened += 1;
      this.tally.bucket().breakerOpens += 1;
    } else if (state === 'closed') {
      b.closed += 1;
      this.tally.bucket().breakerCloses += 1;
    }
  }

  private onOutcome(f: SseFrame): void {
    this.count('outcomes', f);
    if (f.type === 'succeeded' || f.type === 'dead') this.figures.outcomeEvents += 1;
  }
}

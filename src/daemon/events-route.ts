/**
 * `GET /v1/events`: the Supervisor's public events (`events$`) as a Server-Sent Events stream.
 *
 * Query, all optional and combined: `taskId` (that task's events only), `agent` (events of that
 * agent's tasks only) and `type` (a comma-separated list of event types, `type=succeeded,failed`;
 * may also be repeated). An unknown type, an empty list or an unknown parameter is a 400
 * `TROUPE_BAD_REQUEST` naming the field (`query.type`, ...). Events of no task (`pool`, `breaker`,
 * `actor-*`, `recovered`, `draining`, `stopped`) pass only when neither `taskId` nor `agent` is given.
 *
 * With `metricsMs` (100 to 60 000), the stream also carries `event: metrics` with `snapshot()` as
 * its data every `metricsMs`, whatever the other filters: the figures of `GET /v1/snapshot`, pushed.
 *
 * Wire format: a `: connected` comment (the subscription is live once it is seen), then each event
 * as `event: <type>\ndata: <JSON>\n\n`, and a `: heartbeat` comment every 15 s so that clients and
 * proxies can tell a quiet stream from a dead one. The stream ends when the runtime stops (after its
 * `stopped` event) or the server closes; a client that disconnects has its subscription and timer
 * released at once.
 *
 * Slow clients: events are never queued in the daemon beyond a per-stream budget of buffered bytes
 * (`MAX_BUFFERED_BYTES`, 1 MiB). Events are written while the response buffers less than that: a
 * burst (a batch of thousands of submissions emits their `submitted` events in one tick) reaches a
 * client that keeps reading whole, although it fills the socket's 16 KiB high-water mark many times
 * over before the socket can flush. Once a write leaves the budget exceeded, further events for that
 * client are dropped, and counted, until the socket drains; then one
 * `event: dropped\ndata: {"count":N}` (whatever the `type` filter) tells the client that it missed
 * N events and should re-read what it needs (`GET /v1/tasks/:id`). A stream thus holds at most the
 * budget plus the one event that crossed it, however slow or stalled its client is.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Observable, Subscription } from 'rxjs';
import { z } from 'zod';
import type { TroupeEvent, TroupeEventType } from '../index.js';
import type { Supervisor } from '../index.js';
import { parseWith } from '../internal.js';

export interface EventRouteOptions {
  /** Interval of the `: heartbeat` comment. Default 15 000 ms (tests make it shorter). */
  heartbeatMs?: number;
  /**
   * Bytes a stream may buffer before it drops events until its socket drains. Default
   * `MAX_BUFFERED_BYTES` (1 MiB); below the socket's high-water mark (16 KiB) it acts as that mark.
   */
  maxBufferedBytes?: number;
}

/** What one open stream is doing, for tests and diagnostics. */
export interface EventStreamStats {
  /** Events are being dropped: the stream went over its budget and its socket has not drained yet. */
  blocked: boolean;
  /** Events dropped for this client since it connected. */
  dropped: number;
  /** Bytes written but not yet handed to the kernel. */
  buffered: number;
}

const HEARTBEAT_MS = 15_000;
/** Bytes one stream may buffer (written, not yet handed to the kernel) before it drops events. */
export const MAX_BUFFERED_BYTES = 1 << 20;

/** Every public event type: a Record, so an event added to TroupeEvent but not here fails to compile. */
const EVENT_TYPES: Record<TroupeEventType, true> = {
  submitted: true,
  started: true,
  progress: true,
  log: true,
  heartbeat: true,
  succeeded: true,
  failed: true,
  dead: true,
  redriven: true,
  stalled: true,
  cancelled: true,
  requeued: true,
  unblocked: true,
  alert: true,
  pool: true,
  breaker: true,
  paused: true,
  resumed: true,
  'actor-crashed': true,
  'actor-restarted': true,
  recovered: true,
  draining: true,
  stopped: true,
};

const isEventType = (name: string): name is TroupeEventType => Object.hasOwn(EVENT_TYPES, name);
const typeList = (value: string | string[]): string[] => [value].flat().flatMap((v) => v.split(',').map((t) => t.trim()));

const querySchema = z.strictObject({
  taskId: z.string().min(1).optional(),
  agent: z.string().min(1).optional(),
  type: z
    .union([z.string(), z.array(z.string())])
    .refine((value) => typeList(value).every(isEventType), {
      message: `must be a comma-separated list of event types (${Object.keys(EVENT_TYPES).join(', ')})`,
    })
    .transform((value) => new Set(typeList(value) as TroupeEventType[]))
    .optional(),
  metricsMs: z.coerce.number().int().min(100).max(60_000).optional(),
});

type EventFilter = z.output<typeof querySchema>;
/** What a stream carries: the runtime's events, and the periodic snapshot when asked for. */
type StreamItem = TroupeEvent | { type: 'metrics'; snapshot: unknown };

function matches(event: TroupeEvent, filter: EventFilter): boolean {
  if (filter.type !== undefined && !filter.type.has(event.type)) return false;
  if (filter.taskId !== undefined && !('taskId' in event && event.taskId === filter.taskId)) return false;
  return filter.agent === undefined || ('agent' in event && event.agent === filter.agent);
}

/** One SSE frame. A value JSON cannot carry (a cycle, a BigInt) is described instead of thrown. */
function frame(event: StreamItem): string {
  let data: string;
  try {
    const body = event.type === 'metrics' ? event.snapshot : event;
    data = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  } catch (err) {
    data = JSON.stringify({ type: event.type, ...('taskId' in event && { taskId: event.taskId }), unserializable: String(err) });
  }
  return `event: ${event.type}\ndata: ${data}\n\n`;
}

/** Every open stream, across servers. */
const streams = new Set<EventStream>();

/** How many event streams are open (each holds one subscription to `events$` and one timer). */
export function activeStreams(): number {
  return streams.size;
}

/** The state of every open stream. */
export function eventStreamStats(): EventStreamStats[] {
  return [...streams].map((s) => s.stats());
}

/** One client's stream: writes matching events, drops them while over its budget until the socket drains. */
class EventStream {
  private blocked = false;
  private droppedSinceDrain = 0;
  private droppedTotal = 0;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private subscription: Subscription | undefined;
  private readonly tickers: NodeJS.Timeout[] = [];

  constructor(
    private readonly res: ServerResponse,
    heartbeatMs: number,
    private readonly maxBuffered: number,
    private readonly onClose: (stream: EventStream) => void,
  ) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    this.write(': connected\n\n');
    this.heartbeat = setInterval(() => this.beat(), heartbeatMs).unref();
    res.on('close', () => this.release());
    res.on('error', () => this.release());
  }

  /** Starts forwarding; an `events$` that has already completed ends the stream at once. */
  subscribe(events$: Observable<TroupeEvent>, filter: EventFilter): void {
    const subscription = events$.subscribe({
      next: (event) => {
        if (matches(event, filter)) this.send(frame(event));
      },
      complete: () => this.end(),
      error: () => this.end(),
    });
    if (this.closed) subscription.unsubscribe();
    else this.subscription = subscription;
  }

  /** Also sends `item()` every `ms`, until the stream is released. */
  every(ms: number, item: () => StreamItem): void {
    if (this.closed) return;
    const timer = setInterval(() => this.send(frame(item())), ms).unref();
    this.tickers.push(timer);
  }

  stats(): EventStreamStats {
    return { blocked: this.blocked, dropped: this.droppedTotal, buffered: this.res.writableLength };
  }

  /** Ends the response (the runtime stopped, or the server closes). */
  end(): void {
    if (!this.res.writableEnded) this.res.end();
    this.release();
  }

  /** The client disconnected or the stream ended: unsubscribes and stops the heartbeat, once. */
  release(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const timer of this.tickers) clearInterval(timer);
    this.subscription?.unsubscribe();
    this.onClose(this);
  }

  private beat(): void {
    if (!this.blocked) this.write(': heartbeat\n\n');
  }

  private send(chunk: string): void {
    if (!this.blocked) return this.write(chunk);
    this.droppedSinceDrain += 1;
    this.droppedTotal += 1;
  }

  /**
   * Writes, and blocks the stream once the response buffers its budget or more. `write()`'s own
   * answer is no guide: Node corks the socket until the next tick, so it reports false as soon as one
   * tick has written past the 16 KiB high-water mark. But only a false answer promises a 'drain', so
   * the stream blocks when both hold (under that mark, `write()` answers true whatever the budget).
   */
  private write(chunk: string): void {
    if (this.closed || this.res.writableEnded || this.res.destroyed) return;
    if (this.res.write(chunk) || this.res.writableLength < this.maxBuffered) return;
    this.blocked = true;
    this.res.once('drain', () => this.drained());
  }

  private drained(): void {
    this.blocked = false;
    const count = this.droppedSinceDrain;
    this.droppedSinceDrain = 0;
    if (count > 0) this.write(`event: dropped\ndata: ${JSON.stringify({ count })}\n\n`);
  }
}

/** Registers `GET /v1/events`; the server's close ends its streams (they would hold it open). */
export function eventRoutes(app: FastifyInstance, sup: Supervisor, options: EventRouteOptions = {}): void {
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const maxBuffered = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  const mine = new Set<EventStream>();
  const onClose = (stream: EventStream): void => {
    mine.delete(stream);
    streams.delete(stream);
  };
  app.addHook('preClose', async () => {
    for (const stream of [...mine]) stream.end();
  });
  app.get('/v1/events', async (req, reply) => {
    const filter = parseWith(querySchema, req.query, 'TROUPE_BAD_REQUEST', 'query');
    reply.hijack();
    const stream = new EventStream(reply.raw, heartbeatMs, maxBuffered, onClose);
    streams.add(stream);
    mine.add(stream);
    req.raw.on('close', () => stream.release());
    stream.subscribe(sup.events$, filter);
    if (filter.metricsMs !== undefined) stream.every(filter.metricsMs, () => ({ type: 'metrics', snapshot: sup.snapshot() }));
    if (req.raw.socket.destroyed) stream.release(); // gone before its 'close' listeners were added
  });
}

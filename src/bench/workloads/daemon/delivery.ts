/**
 * Section 3, event delivery: a listener records each event's delay from its `at` to its arrival
 * while a burst of tasks runs; a case starts the burst in-process and collects the delays.
 * The listener on a thread of its own is in delivery-thread.ts.
 */
import type { TroupeEvent } from '../../../index.js';
import type { Case } from '../../harness.js';
import { latencyFigures } from '../../stats.js';
import { range } from './loops.js';
import { DELIVERY_TIMEOUT_MS } from './params.js';
import { primeWith, runInProcess } from './round-trips.js';
import { socketOf, daemonCase, type BenchDaemon } from './setup.js';
import { openEvents } from './sse-client.js';
import { epochNow } from './timing.js';

/** Delays (ms) from events' `at` to their arrival, and what the stream said it dropped. */
export interface Delivery {
  delays: number[];
  succeeded: number;
  dropped: number;
}

/** A listener of the daemon's events; `collect` waits until all `n` tasks' `succeeded` events are accounted for. */
export type Listener = { collect(n: number): Promise<Delivery>; close(): Promise<void> };

const emptyDelivery = (): Delivery => ({ delays: [], succeeded: 0, dropped: 0 });

function recordEvent(delivery: Delivery, event: { type: string; at?: number; count?: number }, arrivedAt: number): void {
  if (event.type === 'dropped') delivery.dropped += event.count ?? 0;
  if (typeof event.at !== 'number') return; // `pool` events carry no time
  delivery.delays.push(arrivedAt - event.at);
  if (event.type === 'succeeded') delivery.succeeded += 1;
}

/** Polls a delivery in this thread until every `succeeded` event arrived or was reported dropped. */
async function collectLocal(delivery: Delivery, n: number): Promise<Delivery> {
  const deadline = performance.now() + DELIVERY_TIMEOUT_MS;
  while (delivery.succeeded + delivery.dropped < n) {
    if (performance.now() > deadline) throw undelivered(delivery, n);
    await new Promise((r) => setTimeout(r, 5));
  }
  return delivery;
}

const undelivered = (d: Pick<Delivery, 'succeeded' | 'dropped'>, n: number): Error =>
  new Error(`bench: the event stream delivered ${d.succeeded} succeeded events (+${d.dropped} reported dropped) of ${n}`);

/** Baseline: a subscriber to `events$` in the daemon's own process, the delivery floor. */
export async function eventsInProcess(d: BenchDaemon): Promise<Listener> {
  const delivery = emptyDelivery();
  const subscription = d.sup.events$.subscribe((event: TroupeEvent) => recordEvent(delivery, event, epochNow()));
  return { collect: (n) => collectLocal(delivery, n), close: async () => subscription.unsubscribe() };
}

/** An SSE client on the daemon's event loop: it reads only when the daemon yields. */
export function eventsOverSse(query: string): (d: BenchDaemon) => Promise<Listener> {
  return async (d) => {
    const delivery = emptyDelivery();
    const stream = await openEvents(socketOf(d), query, (f) => {
      const event = { ...(JSON.parse(f.data) as { at?: number; count?: number }), type: f.type };
      recordEvent(delivery, event, f.arrivedAt);
    });
    return { collect: (n) => collectLocal(delivery, n), close: async () => stream.close() };
  };
}

export function deliveryCase(id: string, label: string, n: number, listen: (d: BenchDaemon) => Promise<Listener>, short?: string): Case {
  return daemonCase(id, label, short, async (d) => {
    await primeWith((i) => runInProcess(d.sup, i));
    const listener = await listen(d);
    try {
      await Promise.all(range(n).map((i) => runInProcess(d.sup, i)));
      const { delays, dropped } = await listener.collect(n);
      const { p50Us, p99Us, meanUs } = latencyFigures(delays);
      return { figures: { p50Us, p99Us, dropped }, facts: { meanUs, events: delays.length, tasks: n } };
    } finally {
      await listener.close();
    }
  });
}

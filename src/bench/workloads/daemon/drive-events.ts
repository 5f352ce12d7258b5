/**
 * The throughput drive that takes its results from the event stream instead of long-polls: its
 * own file, as it must also account for events the daemon dropped for a slow reader.
 */
import type { Drive } from './drives.js';
import { ApiClient, awaitEcho } from './http-client.js';
import { chunks, forEachLimit, range } from './loops.js';
import { AGENT, BATCH, DELIVERY_TIMEOUT_MS, MAX_SOCKETS } from './params.js';
import { primeWith, runOverHttp } from './round-trips.js';
import { socketOf } from './setup.js';
import { openEvents } from './sse-client.js';
import { rate, startClock } from './timing.js';

/**
 * Results from an event stream instead of one long-poll per task: a `succeeded` stream is opened
 * first, then `BATCH` tasks per POST. Tasks whose event the daemon reported dropped (a slow reader)
 * are long-polled afterwards, as the API tells a client to; how many is a fact of the run.
 */
export const httpBatchedEvents: Drive = async (d, n) => {
  const api = new ApiClient(socketOf(d), MAX_SOCKETS);
  try {
    await primeWith((i) => runOverHttp(api, i));
    const seen = new Map<string, unknown>();
    let dropped = 0;
    let wake = (): void => {};
    const stream = await openEvents(socketOf(d), '?type=succeeded', (f) => {
      const event = JSON.parse(f.data) as { taskId?: string; result?: unknown; count?: number };
      if (f.type === 'dropped') dropped += event.count ?? 0;
      else seen.set(event.taskId!, event.result);
      wake();
    });
    try {
      const start = startClock();
      const posted: { id: string; input: number }[] = [];
      await forEachLimit(chunks(range(n), BATCH), MAX_SOCKETS, async (inputs) => {
        const { ids } = await api.call<{ ids: string[] }>('POST', '/v1/tasks', inputs.map((input) => ({ agent: AGENT, input })));
        ids.forEach((id, j) => posted.push({ id, input: inputs[j]! }));
      });
      await until(() => seen.size + dropped >= n, (w) => (wake = w));
      const missed = posted.filter(({ id }) => !seen.has(id));
      await forEachLimit(missed, MAX_SOCKETS, ({ id, input }) => awaitEcho(api, id, input));
      const figures = rate(n, start);
      for (const { id, input } of posted) {
        if (seen.has(id) && seen.get(id) !== input) throw new Error(`bench: task ${id} (input ${input}) succeeded with ${JSON.stringify(seen.get(id))}`);
      }
      return { ...figures, longPolled: missed.length };
    } finally {
      stream.close();
    }
  } finally {
    api.close();
  }
};

/** Resolves once `done()` holds, re-checked whenever the callback handed to `onWake` is called; 10 s at most. */
function until(done: () => boolean, onWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench: events did not account for every task within 10 s')), DELIVERY_TIMEOUT_MS);
    const check = (): void => {
      if (!done()) return;
      clearTimeout(timer);
      onWake(() => {});
      resolve();
    };
    onWake(check);
    check();
  });
}

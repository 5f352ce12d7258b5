/**
 * Section 1, throughput: a drive pushes `n` tasks through one path (in-process, or HTTP one task
 * or one batch per POST) and reports the rate; a case runs one drive on a daemon of its own.
 */
import type { Case } from '../../harness.js';
import { ApiClient, awaitEcho } from './http-client.js';
import { chunks, forEachLimit, range } from './loops.js';
import { AGENT, BATCH, MAX_SOCKETS } from './params.js';
import { primeWith, runInProcess, runOverHttp } from './round-trips.js';
import { socketOf, daemonCase, type BenchDaemon, type Endpoint } from './setup.js';
import { rate, startClock, type Rate } from './timing.js';

/** A timed run; `longPolled` counts tasks whose result had to be polled for after their event was dropped. */
export type Drive = (d: BenchDaemon, n: number) => Promise<Rate & { longPolled?: number }>;

/** Baseline: every task submitted at once in-process, then every result awaited. */
export const inProcessBurst: Drive = async (d, n) => {
  await primeWith((i) => runInProcess(d.sup, i));
  const start = startClock();
  await Promise.all(range(n).map((i) => runInProcess(d.sup, i)));
  return rate(n, start);
};

/** One task per POST, then its long-poll; `MAX_SOCKETS` requests in flight. */
export function httpOneByOne(endpointOf: (d: BenchDaemon) => Endpoint): Drive {
  return async (d, n) => {
    const api = new ApiClient(endpointOf(d), MAX_SOCKETS);
    try {
      await primeWith((i) => runOverHttp(api, i));
      const start = startClock();
      await forEachLimit(range(n), MAX_SOCKETS, (i) => runOverHttp(api, i));
      return rate(n, start);
    } finally {
      api.close();
    }
  };
}

/**
 * `BATCH` tasks per POST, then one long-poll per task. Batches are posted by `MAX_SOCKETS` workers;
 * the Agent still caps requests in flight at `MAX_SOCKETS` (the long-polls wait in its queue).
 */
export const httpBatched: Drive = async (d, n) => {
  const api = new ApiClient(socketOf(d), MAX_SOCKETS);
  try {
    await primeWith((i) => runOverHttp(api, i));
    const start = startClock();
    await forEachLimit(chunks(range(n), BATCH), MAX_SOCKETS, async (inputs) => {
      const { ids } = await api.call<{ ids: string[] }>('POST', '/v1/tasks', inputs.map((input) => ({ agent: AGENT, input })));
      await Promise.all(ids.map((id, j) => awaitEcho(api, id, inputs[j]!)));
    });
    return rate(n, start);
  } finally {
    api.close();
  }
};

export function throughputCase(id: string, label: string, n: number, drive: Drive, short?: string): Case {
  return daemonCase(id, label, short, async (d) => {
    const { tasksPerSec, mainUsPerTask, mainBusy, elapsedMs, longPolled } = await drive(d, n);
    const facts = { mainBusy, elapsedMs, tasks: n, ...(longPolled === undefined ? {} : { longPolled }) };
    return { figures: { tasksPerSec, mainUsPerTask }, facts };
  });
}

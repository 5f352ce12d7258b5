/**
 * Section 2, latency: a runner takes one task from submission to its result (in-process, HTTP
 * long-poll, or its `succeeded` event); a case times it task after task on a daemon of its own.
 */
import type { Case } from '../../harness.js';
import { ApiClient, submitOne } from './http-client.js';
import { primeWith, runInProcess, runOverHttp } from './round-trips.js';
import { socketOf, daemonCase, type BenchDaemon } from './setup.js';
import { openEvents } from './sse-client.js';
import { timeSequential } from './timing.js';

type Runner = { run: (input: number) => Promise<void>; close(): void };

/** POST then wait for the task's `succeeded` event on a stream opened beforehand (filtered by type). */
export async function sseRunner(d: BenchDaemon): Promise<Runner> {
  const api = new ApiClient(socketOf(d), 1);
  const waiting = new Map<string, { resolve: (result: unknown) => void; reject: (err: Error) => void }>();
  // An event may arrive before the POST's answer: keep it until its task is asked for.
  const early = new Map<string, unknown>();
  const stream = await openEvents(socketOf(d), '?type=succeeded', (f) => {
    const event = JSON.parse(f.data) as { taskId: string; result: unknown };
    // A `dropped` frame: the awaited event may never come, and the figure would be a timeout's.
    if (f.type !== 'succeeded') return waiting.forEach((w) => w.reject(new Error(`bench: the event stream sent ${f.type} ${f.data}`)));
    const waiter = waiting.get(event.taskId);
    if (waiter === undefined) early.set(event.taskId, event.result);
    else waiter.resolve(event.result);
  });
  const run = async (input: number): Promise<void> => {
    const { id } = await submitOne(api, input);
    const result = early.has(id) ? early.get(id) : await new Promise<unknown>((resolve, reject) => waiting.set(id, { resolve, reject }));
    early.delete(id);
    waiting.delete(id);
    if (result !== input) throw new Error(`bench: task ${id} (input ${input}) succeeded with ${JSON.stringify(result)}`);
  };
  return { run, close: () => (stream.close(), api.close()) };
}

export function latencyCase(id: string, label: string, n: number, open: (d: BenchDaemon) => Promise<Runner>, short?: string): Case {
  return daemonCase(id, label, short, async (d) => {
    const runner = await open(d);
    try {
      await primeWith(runner.run);
      const { p50Us, p99Us, meanUs } = await timeSequential(n, runner.run);
      return { figures: { p50Us, p99Us }, facts: { meanUs, tasks: n } };
    } finally {
      runner.close();
    }
  });
}

export const inProcessRunner = async (d: BenchDaemon): Promise<Runner> => ({ run: (i) => runInProcess(d.sup, i), close: () => {} });

export async function httpRunner(d: BenchDaemon): Promise<Runner> {
  const api = new ApiClient(socketOf(d), 1);
  return { run: (i) => runOverHttp(api, i), close: () => api.close() };
}

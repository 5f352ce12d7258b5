/**
 * One no-op task from submission to its checked result, in-process or over HTTP: the unit every
 * row times, and the warm-up that runs it untimed first.
 */
import type { Supervisor } from '../../../index.js';
import { awaitEcho, submitOne, type ApiClient } from './http-client.js';
import { range } from './loops.js';
import { AGENT, PRIME_TASKS } from './params.js';

/** In-process: submit then result, checking the echo. */
export async function runInProcess(sup: Supervisor, input: number): Promise<void> {
  const result = await sup.result(await sup.submit({ agent: AGENT, input }));
  if (result !== input) throw new Error(`bench: task ${input} returned ${JSON.stringify(result)}`);
}

/** Over HTTP: POST one task, then long-poll its result. */
export async function runOverHttp(api: ApiClient, input: number): Promise<void> {
  const { id } = await submitOne(api, input);
  await awaitEcho(api, id, input);
}

/** Untimed: `PRIME_TASKS` one after another through the path measured, so threads and a connection are warm. */
export async function primeWith(run: (input: number) => Promise<void>): Promise<void> {
  for (const i of range(PRIME_TASKS, 1_000_000)) await run(i);
}

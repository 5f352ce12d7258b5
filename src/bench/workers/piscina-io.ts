import { setTimeout as sleep } from 'node:timers/promises';

/** Raw Piscina worker for the `io` baseline: waits `latencyMs`, as the Troupe agent does, and echoes the id. */
export default async (input: { id: number; latencyMs: number }): Promise<number> => {
  await sleep(input.latencyMs);
  return input.id;
};

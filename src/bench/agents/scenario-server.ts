import { setTimeout as sleep } from 'node:timers/promises';
import { defineAgent } from 'troupe/agent';

export interface ScenarioServerInput {
  /**
   * Two Int32 slots per server, shared with the caller: [in use now, most ever in use]. Shared
   * memory, not events: the count is taken inside the runs themselves, on the threads.
   */
  gauges: SharedArrayBuffer;
  server: number;
  /** How long one operation holds its server. */
  holdMs: number;
}

/** Raises `slot` to at least `value`, atomically. */
function raiseTo(view: Int32Array, slot: number, value: number): void {
  for (let seen = Atomics.load(view, slot); seen < value; seen = Atomics.load(view, slot)) {
    if (Atomics.compareExchange(view, slot, seen, value) === seen) return;
  }
}

/**
 * One operation against a "server" (scenario `b`): counts itself in while it holds the server,
 * records the highest count it saw, and returns that count.
 */
export default defineAgent(async (input: ScenarioServerInput): Promise<number> => {
  const view = new Int32Array(input.gauges);
  const now = Atomics.add(view, 2 * input.server, 1) + 1;
  raiseTo(view, 2 * input.server + 1, now);
  try {
    await sleep(input.holdMs);
  } finally {
    Atomics.sub(view, 2 * input.server, 1);
  }
  return now;
});

/**
 * The drain sections: the cost of stopping with tasks running and queued on a journal file, the
 * daemon's `stop()` against the runtime's `shutdown()`, and a check that every task was kept.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Supervisor } from '../../../index.js';
import type { Case } from '../../harness.js';
import { chunks, range } from './loops.js';
import { AGENT, POOL, THREADS } from './params.js';
import { closeDaemon, openDaemon } from './setup.js';

/**
 * The drain rows hold their runs with an agent that logs once it runs: stopping a run whose thread
 * has not registered its abort yet loses the abort (reported as a bug), so the stop would wait out
 * the 1 s cancel grace and terminate the thread.
 */
const HOLD_MODULE = fileURLToPath(new URL('../../agents/hold-announced.js', import.meta.url));
/**
 * Tasks held queued behind 2 running ones when the daemon is stopped. Fixed rather than
 * `options.queued` (100,000 by default): each measurement submits them under fsync and restarts
 * the journal to check them, which at 100,000 would blow the workload's time budget.
 */
export const DRAIN_QUEUED = [1_000, 10_000] as const;

/**
 * Resolves once `n` hold tasks have logged that they run (see `HOLD_MODULE`); rejects after 10 s.
 * Marked handled, so that a caller that throws before awaiting it leaves no unhandled rejection.
 */
function untilHolding(sup: Supervisor, n: number): Promise<void> {
  const holding = new Promise<void>((resolve, reject) => {
    let seen = 0;
    const subscription = sup.events$.subscribe((event) => {
      if (event.type !== 'log' || event.message !== 'holding' || (seen += 1) < n) return;
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve();
    });
    const timer = setTimeout(() => (subscription.unsubscribe(), reject(new Error(`bench: ${seen} of ${n} hold tasks ran within 10 s`))), 10_000);
  });
  holding.catch(() => undefined);
  return holding;
}

/**
 * Checks that a stopped runtime kept every unfinished task: a fresh start on the same journal must
 * recover them all (the 2 stopped runs, requeued at shutdown, and the queued ones).
 */
async function checkKept(journal: string, expected: number): Promise<number> {
  const sup = await Supervisor.start({ journal, pool: POOL, agents: { [AGENT]: { module: HOLD_MODULE, concurrency: THREADS } }, logger: pino({ level: 'silent' }) });
  // The recovered tasks start at once: their runs must hear the shutdown's abort (see HOLD_MODULE).
  const holding = untilHolding(sup, THREADS);
  try {
    let recovery = sup.snapshot().recovery;
    for (let i = 0; recovery === null && i < 200; i += 1) {
      await new Promise((r) => setTimeout(r, 5));
      recovery = sup.snapshot().recovery;
    }
    const kept = recovery === null ? 0 : recovery.queued + recovery.requeued;
    if (kept !== expected) throw new Error(`bench: the journal kept ${kept} unfinished tasks of ${expected} (${JSON.stringify(recovery)})`);
    await holding;
    return kept;
  } finally {
    await sup.shutdown({ timeoutMs: 0 });
  }
}

/**
 * `queued` + 2 hold tasks on a journal file; once 2 run, times the stop: the daemon's `stop()` (the
 * runtime's drain, then the listeners), or the baseline, the same runtime's `shutdown()` alone.
 * A shutdown timeout of 0 stops the 2 runs at once, so the figure is the drain's own cost.
 */
export function drainCase(id: string, label: string, queued: number, daemonStop: boolean, short?: string): Case {
  return {
    id,
    label,
    ...(short === undefined ? {} : { short }),
    measure: async () => {
      const d = await openDaemon({ journalFile: true, agentModule: HOLD_MODULE, concurrency: THREADS, shutdownTimeoutMs: 0 });
      let stopped = false;
      try {
        const gate = { gate: join(d.dir, 'never') };
        const holding = untilHolding(d.sup, THREADS);
        await d.sup.submitBatch(range(THREADS).map(() => ({ agent: AGENT, input: gate })));
        await holding;
        for (const part of chunks(range(queued), 1_000)) await d.sup.submitBatch(part.map(() => ({ agent: AGENT, input: gate })));
        const t0 = performance.now();
        await (daemonStop ? d.daemon.stop() : d.sup.shutdown({ timeoutMs: 0 }));
        const stopMs = performance.now() - t0;
        stopped = daemonStop;
        const kept = await checkKept(d.journal, queued + THREADS);
        return { figures: { stopMs }, facts: { queued, kept } };
      } finally {
        // The baseline (or a failed set-up) still has its listeners open; the runtime's second shutdown is a no-op.
        if (stopped) rmSync(d.dir, { recursive: true, force: true });
        else await closeDaemon(d);
      }
    },
  };
}

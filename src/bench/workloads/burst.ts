/**
 * Workload `burst`: N tasks submitted at once to a pool whose tasks wait on a gate, so all but a
 * pool's worth stay queued. Measures the rate of submission and the memory each queued task costs,
 * and checks flow control: Troupe keeps the burst in its Queue (tasks handed to the pool never
 * exceed its slots), where raw Piscina keeps it in the pool's own queue.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Supervisor } from '../../index.js';
import type { BenchOptions, Measurement, Section, Workload } from '../harness.js';

const AGENT_MODULE = fileURLToPath(new URL('../agents/hold.js', import.meta.url));
const PISCINA_WORKER = new URL('../workers/piscina-hold.js', import.meta.url).href;
const THREADS = 2;

interface Held {
  /** Submits one task; resolves once it is accepted (Troupe) or immediately (Piscina). */
  submit(input: { gate: string }): Promise<unknown>;
  /** Tasks handed to the pool's threads or its own queue. */
  inPool(): number;
  /** Opens the gate's consequences: waits for every task, then closes. */
  drain(): Promise<void>;
}

function heap(): { heap: number; rss: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

async function measureBurst(n: number, open: () => Promise<Held>): Promise<Measurement> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-'));
  const gate = join(dir, 'gate');
  try {
    const held = await open();
    const before = heap();
    const t0 = performance.now();
    const accepted = new Array<Promise<unknown>>(n);
    for (let i = 0; i < n; i += 1) accepted[i] = held.submit({ gate });
    await Promise.all(accepted);
    const submitMs = performance.now() - t0;
    const after = heap();
    const inPool = held.inPool();
    writeFileSync(gate, 'open');
    await held.drain();
    return {
      figures: { submitsPerSec: n / (submitMs / 1000), heapPerTask: (after.heap - before.heap) / n, inPool },
      facts: { submitMs, rssPerTask: (after.rss - before.rss) / n },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function troupe(): Promise<Held> {
  const sup = await Supervisor.start({ pool: { minThreads: THREADS, maxThreads: THREADS }, agents: { hold: { module: AGENT_MODULE } } });
  const ids: Promise<string>[] = [];
  return {
    submit: (input) => {
      const id = sup.submit({ agent: 'hold', input });
      ids.push(id);
      return id;
    },
    inPool: () => sup.snapshot().running,
    drain: async () => {
      await Promise.all(ids.map(async (id) => sup.result(await id)));
      await sup.shutdown();
    },
  };
}

async function piscina(): Promise<Held> {
  const pool = new Piscina({ filename: PISCINA_WORKER, minThreads: THREADS, maxThreads: THREADS });
  const done: Promise<unknown>[] = [];
  return {
    submit: (input) => {
      done.push(pool.run(input));
      return Promise.resolve();
    },
    inPool: () => pool.queueSize + THREADS,
    drain: async () => {
      await Promise.all(done);
      await pool.destroy();
    },
  };
}

export const burst: Workload = {
  name: 'burst',
  title: 'Burst of queued tasks: submission rate, memory per queued task, flow control',
  summary: 'N tasks submitted at once and held queued: submits/s, heap bytes per queued task, tasks in the pool',
  plan(options: BenchOptions): Section[] {
    const n = options.queued;
    return [
      {
        id: 'burst',
        title: `Burst of ${n.toLocaleString('en-US')} tasks held queued, ${THREADS} threads`,
        method:
          `All tasks submitted in one loop and awaited until accepted, while the pool's ${THREADS} threads wait on a gate; ` +
          `heap measured after a GC (run with --expose-gc) before and after; "in pool" is what the pool holds ` +
          `(Troupe: running tasks; Piscina: its queue plus running). Then the gate opens and everything drains.`,
        metrics: [
          { key: 'submitsPerSec', label: 'submits/s', digits: 0, better: 'higher' },
          { key: 'heapPerTask', label: 'heap B/task', digits: 0, better: 'lower' },
          { key: 'inPool', label: 'in pool', digits: 0, better: 'lower' },
        ],
        baseline: 'piscina',
        cases: [
          { id: 'troupe', label: 'Troupe (held in its Queue)', measure: () => measureBurst(n, troupe) },
          { id: 'piscina', label: 'Raw Piscina run() (held in its own queue)', short: 'Piscina', measure: () => measureBurst(n, piscina) },
        ],
      },
    ];
  },
};

/**
 * Section 4, readiness: a probe is one readiness or health call (in-process `ready()`, or
 * `GET /readyz` and `GET /healthz` over the socket); a case times it call after call on an idle daemon.
 */
import type { Case } from '../../harness.js';
import { ApiClient } from './http-client.js';
import { primeWith } from './round-trips.js';
import { socketOf, daemonCase, type BenchDaemon } from './setup.js';
import { timeSequential } from './timing.js';

type Probe = { call(): Promise<void>; close(): void };

export function readinessCase(id: string, label: string, n: number, probe: (d: BenchDaemon) => Probe, short?: string): Case {
  return daemonCase(id, label, short, async (d) => {
    const p = probe(d);
    try {
      await primeWith(() => p.call());
      const { p50Us, p99Us, meanUs } = await timeSequential(n, () => p.call());
      return { figures: { p50Us, p99Us }, facts: { meanUs, calls: n } };
    } finally {
      p.close();
    }
  });
}

export function readyInProcess(d: BenchDaemon): Probe {
  return {
    call: async () => {
      const r = await d.sup.ready();
      if (!r.ready) throw new Error(`bench: not ready: ${r.reasons.join('; ')}`);
    },
    close: () => {},
  };
}

export function getOverSocket(path: string): (d: BenchDaemon) => Probe {
  return (d) => {
    const api = new ApiClient(socketOf(d), 1);
    return { call: () => api.call('GET', path).then(() => undefined), close: () => api.close() };
  };
}

// Prometheus histograms of task durations per agent, from the runtime's bucketed counts
// (`snapshot().durations`): `_bucket{le}` (cumulative), `_sum`, `_count`. Unlike the quantile
// gauges they add up across daemons and can be re-aggregated over any window by `rate()`.
import type { Metric, Registry } from 'prom-client';
import type { MetricsSnapshot } from '../index.js';

type Kind = keyof MetricsSnapshot['durations']['byAgent'][string];

const HISTOGRAMS: ReadonlyArray<[string, Kind, string]> = [
  ['troupe_task_queue_wait_seconds', 'queueWait', 'Time from submission (or a retry becoming due) to the start of a run, per agent; one per start.'],
  ['troupe_task_run_seconds', 'run', 'Duration of each run (attempt), failed ones included, per agent.'],
  ['troupe_task_end_to_end_seconds', 'endToEnd', 'Time from submission to the task\'s end (succeeded, dead or cancelled after a start), per agent.'],
];

interface Value {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

function values(name: string, kind: Kind, snapshot: MetricsSnapshot): Value[] {
  const out: Value[] = [];
  const bounds = snapshot.durations.bucketsSeconds;
  for (const [agent, histograms] of Object.entries(snapshot.durations.byAgent)) {
    const h = histograms[kind];
    let cumulative = 0;
    bounds.forEach((le, i) => {
      cumulative += h.counts[i] ?? 0;
      out.push({ metricName: `${name}_bucket`, labels: { agent, le }, value: cumulative });
    });
    out.push({ metricName: `${name}_bucket`, labels: { agent, le: '+Inf' }, value: h.count });
    out.push({ metricName: `${name}_sum`, labels: { agent }, value: h.sumSeconds });
    out.push({ metricName: `${name}_count`, labels: { agent }, value: h.count });
  }
  return out;
}

/** Registers the three histograms; each scrape reads them from `read()`'s snapshot. */
export function durationHistograms(registry: Registry, read: () => MetricsSnapshot): void {
  for (const [name, kind, help] of HISTOGRAMS) {
    // prom-client's own Histogram can only observe; this is the same exposition from counts kept by the runtime.
    const metric = { name, help, type: 'histogram', aggregator: 'sum', get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: values(name, kind, read()) }) };
    registry.registerMetric(metric as unknown as Metric);
  }
}

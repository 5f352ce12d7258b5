/**
 * Samples what must stay bounded, every few seconds: the daemon's RSS and heap (from its
 * `GET /metrics`), its backlog, and the journal's size on disk (the database file plus its WAL).
 */
import { statSync } from 'node:fs';
import { callDaemon } from '../../daemon/index.js';

export interface Sample {
  /** ms since the load began. */
  t: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** journal.db + journal.db-wal. */
  journalBytes: number;
  /** journal.db alone (its WAL is prewritten to 8 MiB under 'fsync', so the sum hides the database's growth). */
  dbBytes: number;
  /** Tasks queued (all priorities) and delayed (waiting for a retry), per the daemon. */
  queued: number;
  delayed: number;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}


/** The sum of a metric's samples in Prometheus text (every label set); NaN if it has none. */
export function metricValue(text: string, name: string): number {
  let sum = NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    sum = Number.isNaN(sum) ? value : sum + value;
  }
  return sum;
}

export class Sampler {
  readonly samples: Sample[] = [];
  /** Scrapes that failed, with why (the first few). */
  readonly errors: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;

  constructor(
    private readonly socket: string,
    private readonly journal: string,
  ) {}

  start(t0: number, everyMs: number): void {
    this.t0 = t0;
    this.timer = setInterval(() => void this.sample(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One sample now; also the last one, after the drain. */
  async sample(): Promise<Sample | undefined> {
    const t = performance.now() - this.t0;
    try {
      const res = await callDaemon({ socket: this.socket }, 'GET', '/metrics');
      if (res.status !== 200 || typeof res.body !== 'string') throw new Error(`GET /metrics answered ${res.status}`);
      const text = res.body;
      const sample: Sample = {
        t,
        rssBytes: metricValue(text, 'process_resident_memory_bytes'),
        heapUsedBytes: metricValue(text, 'nodejs_heap_size_used_bytes'),
        dbBytes: fileSize(this.journal),
        journalBytes: fileSize(this.journal) + fileSize(`${this.journal}-wal`),
        queued: metricValue(text, 'troupe_queue_depth'),
        delayed: metricValue(text, 'troupe_tasks_delayed'),
      };
      if (!Number.isFinite(sample.rssBytes) || !Number.isFinite(sample.heapUsedBytes)) throw new Error('GET /metrics has no process_resident_memory_bytes or nodejs_heap_size_used_bytes');
      this.samples.push(sample);
      return sample;
    } catch (err) {
      if (this.errors.length < 20) this.errors.push(err instanceof Error ? err.message : String(err));
      return undefined;
    }
  }
}

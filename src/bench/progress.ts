/**
 * The progress bar of `troupe bench`, drawn with cli-progress on stderr when it is a terminal: the
 * workload, its section, case and run, and how many of the workload's measurements are done. Off a
 * terminal (pipes, files, CI) every call is a no-op, so logs never hold escape codes.
 */
import cliProgress from 'cli-progress';
import type { ProgressFn, Section } from './harness.js';

/** What the bar writes to: a stream that may be a terminal. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface WorkloadProgress {
  /** Called by the harness before each measurement. */
  readonly step: ProgressFn;
  /** Clears the bar, so that the table printed next starts on a clean line. Safe to call twice. */
  stop(): void;
}

export interface BenchProgress {
  /** A bar for one workload: `index` of `count` workloads, its measurements counted from `sections`. */
  workload(name: string, index: number, count: number, sections: readonly Section[], runs: number): WorkloadProgress;
}

const NOOP_WORKLOAD: WorkloadProgress = { step: () => {}, stop: () => {} };

/** Measurements the harness makes for these sections: every case once per run, plus the warm-up run. */
export function plannedSteps(sections: readonly Section[], runs: number): number {
  return sections.reduce((sum, s) => sum + s.cases.length * (runs + 1), 0);
}

/** "warm-up" or "run 2/5", as the harness numbers runs (0 is the warm-up). */
export function runLabel(run: number, runs: number, warmup: boolean): string {
  return warmup ? 'warm-up' : `run ${run}/${runs}`;
}

/** The bench's progress on `stream`; a no-op unless it is a terminal. */
export function benchProgress(stream: ProgressStream = process.stderr): BenchProgress {
  if (stream.isTTY !== true) return { workload: () => NOOP_WORKLOAD };
  return { workload: (name, index, count, sections, runs) => workloadBar(stream, name, index, count, plannedSteps(sections, runs)) };
}

function workloadBar(stream: ProgressStream, name: string, index: number, count: number, total: number): WorkloadProgress {
  const prefix = count > 1 ? `${name} (${index + 1}/${count})` : name;
  const bar = new cliProgress.SingleBar({
    stream,
    format: `${prefix} [{bar}] {value}/{total} | {where} | {duration_formatted}`,
    barsize: 24,
    // Two redraws a second keep the elapsed time current while taking next to nothing from the
    // main thread, whose throughput is what most workloads measure.
    fps: 2,
    hideCursor: null,
    // true trims the line to the terminal's width instead of switching wrapping off meanwhile.
    linewrap: true,
    clearOnComplete: true,
  });
  bar.start(total, 0, { where: 'starting' });
  let done = 0;
  let stopped = false;
  return {
    // Called as a measurement starts: the ones before it are done.
    step: (s) => {
      if (stopped) return;
      bar.update(done, { where: `${s.section} › ${s.caseId} · ${runLabel(s.run, s.runs, s.warmup)}` });
      done += 1;
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.update(done, { where: 'done' });
      bar.stop();
    },
  };
}

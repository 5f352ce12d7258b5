// Types of harness.mjs, for the TypeScript tests that use it.

export interface CrashTestOptions {
  /** How many times the loaded runtime is SIGKILLed. */
  kills: number;
  /** Seeds the kill schedule (default: random, reported). */
  seed?: number;
  /** A directory for the journal, the side-effect file and the accepted ids. */
  dir: string;
  /** Receives one progress line per kill. */
  log?: (line: string) => void;
  /** Each load child accepts at least this many new tasks before it may be killed (default 3)... */
  minAccepted?: number;
  /** ... plus up to this many more, chosen at random (default 5). */
  maxExtraAccepted?: number;
  /** Then the kill waits a random 0..maxDelayMs ms (default 150). */
  maxDelayMs?: number;
  /** Share of kills that strike at a random moment of start-up or recovery instead (default 0.1). */
  earlyKillRatio?: number;
  /** A child must be ready and accept its tasks within this (default 60 s). */
  startTimeoutMs?: number;
  /** The final drain must finish within this (default 120 s). */
  drainTimeoutMs?: number;
  /** Extra arguments for load children: --batch, --every, --work-ms, --max-backlog. */
  childArgs?: string[];
}

export interface CrashTestVerdict {
  /** No loss, no duplicate completion, no missing side effect, no anomaly. */
  ok: boolean;
  /** Task ids the load children announced as accepted. */
  accepted: number;
  /** Tasks in the journal: the accepted ones plus any committed just before a kill, unannounced. */
  journaled: number;
  /** Accepted tasks in state succeeded. */
  succeeded: number;
  /** Accepted tasks missing from the journal or not succeeded. */
  lost: number;
  /** Tasks with more than one terminal transition. */
  duplicateCompletions: number;
  /** Accepted tasks with no side-effect line. */
  sideEffectsMissing: number;
  /** Side-effect lines: executions that got as far as their side effect. */
  sideEffects: number;
  /** Tasks whose side effect happened more than once. */
  reexecuted: number;
  /** The most side effects one task had. */
  maxExecutions: number;
  /** Tasks whose side effect was recorded twice with the same attempt number. */
  repeatedAttempts: number;
  /** 'requeued' transitions with reason 'recovered'. */
  recovered: number;
  /** Distinct tasks requeued as 'recovered'. */
  recoveredTasks: number;
  /** Runtime starts that opened the journal. */
  incarnations: number;
  /** Each violated invariant, with a few example task ids. */
  anomalies: string[];
}

export interface CrashTestReport extends CrashTestVerdict {
  seed: number;
  kills: number;
  earlyKills: number;
  elapsedMs: number;
}

export function runCrashTest(options: CrashTestOptions): Promise<CrashTestReport>;
export function verifyCrashTest(dir: string): CrashTestVerdict;

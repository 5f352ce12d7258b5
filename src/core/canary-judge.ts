// The canary judge: compares the canary with the stable version over the same window and says pass,
// fail or inconclusive. Pure: the same evidence and config always give the same judgement.
import { CANARY_DEFAULTS, type JudgeConfig } from './canary-options.js';
import { fisherGreater, mannWhitneyGreater, median } from './canary-stats.js';

/** What one version did in the window. `durationsMs`: of its succeeded runs (failures are judged by count). */
export interface VersionEvidence {
  runs: number;
  failures: number;
  durationsMs: readonly number[];
}

export interface CanaryEvidence {
  canary: VersionEvidence;
  stable: VersionEvidence;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';
export type JudgeCheck = 'error-rate' | 'failures' | 'durations';

export interface VersionFigures {
  runs: number;
  failures: number;
  errorRate: number;
  medianMs: number | null;
}

export interface JudgeFigures {
  canary: VersionFigures;
  stable: VersionFigures;
  /** Each check's own verdict; the judgement fails if any fails, else is inconclusive if any is. */
  checks: Record<JudgeCheck, Verdict>;
  /** One-sided Fisher p-value (canary fails more often); absent when the test did not run. */
  failureP?: number;
  /** One-sided Mann-Whitney p-value (canary slower), its method and smallest attainable p. */
  durationP?: number;
  durationMethod?: 'exact' | 'normal' | 'none';
  durationMinP?: number;
  /** Canary median ÷ stable median (succeeded runs). */
  medianRatio?: number;
}

export interface Judgement {
  verdict: Verdict;
  /** One line per check, failed ones first, each with its figures. */
  reasons: string[];
  /** The checks that failed (empty unless verdict is 'fail'). */
  failed: JudgeCheck[];
  figures: JudgeFigures;
}

const pct = (r: number): string => `${(r * 100).toFixed(1)}%`;
const fmtP = (p: number): string => (p < 1e-4 ? p.toExponential(2) : p.toPrecision(3));
const fmtMs = (ms: number | null): string => (ms === null ? 'none' : `${Math.round(ms)} ms`);

function figuresOf(v: VersionEvidence, who: string): VersionFigures {
  if (!Number.isInteger(v.runs) || v.runs < 0) throw new RangeError(`${who}.runs must be an integer ≥ 0 (got ${v.runs})`);
  if (!Number.isInteger(v.failures) || v.failures < 0 || v.failures > v.runs) {
    throw new RangeError(`${who}.failures must be an integer in [0, runs] (got ${v.failures} of ${v.runs})`);
  }
  const m = median(v.durationsMs);
  return { runs: v.runs, failures: v.failures, errorRate: v.runs === 0 ? 0 : v.failures / v.runs, medianMs: Number.isNaN(m) ? null : m };
}

/**
 * Judges the canary against stable. Invariants: fewer than minCanaryRuns canary runs is inconclusive,
 * never pass; pass needs every check to have run and passed; fail names each failed check with its figures.
 */
export function judge(evidence: CanaryEvidence, config: JudgeConfig = CANARY_DEFAULTS.judge): Judgement {
  const canary = figuresOf(evidence.canary, 'canary');
  const stable = figuresOf(evidence.stable, 'stable');
  const figures: JudgeFigures = { canary, stable, checks: { 'error-rate': 'inconclusive', failures: 'inconclusive', durations: 'inconclusive' } };
  const lines: Record<JudgeCheck, string> = { 'error-rate': '', failures: '', durations: '' };

  if (canary.runs < config.minCanaryRuns) {
    const reason = `too few canary runs: ${canary.runs} < minCanaryRuns ${config.minCanaryRuns}`;
    return { verdict: 'inconclusive', reasons: [reason], failed: [], figures };
  }

  // 1. Absolute ceiling: needs no stable data.
  const overCeiling = canary.errorRate > config.maxErrorRate;
  figures.checks['error-rate'] = overCeiling ? 'fail' : 'pass';
  lines['error-rate'] = `error rate: canary ${canary.failures}/${canary.runs} failed (${pct(canary.errorRate)}) ${overCeiling ? '>' : '≤'} maxErrorRate ${pct(config.maxErrorRate)}`;

  // 2. Failures, canary vs stable.
  if (stable.runs < config.minStableRuns) {
    lines.failures = `failures: too few stable runs to compare: ${stable.runs} < minStableRuns ${config.minStableRuns}`;
  } else {
    const p = fisherGreater([
      [canary.failures, canary.runs - canary.failures],
      [stable.failures, stable.runs - stable.failures],
    ]);
    figures.failureP = p;
    const worse = p < config.alpha;
    figures.checks.failures = worse ? 'fail' : 'pass';
    lines.failures =
      `failures: Fisher one-sided p = ${fmtP(p)} ${worse ? '<' : '≥'} alpha ${config.alpha} ` +
      `(canary ${canary.failures}/${canary.runs} = ${pct(canary.errorRate)}, stable ${stable.failures}/${stable.runs} = ${pct(stable.errorRate)})`;
  }

  // 3. Durations of succeeded runs, with an effect-size floor so a tiny but significant slowdown passes.
  if (stable.runs < config.minStableRuns) {
    lines.durations = `durations: too few stable runs to compare: ${stable.runs} < minStableRuns ${config.minStableRuns}`;
  } else {
    const mw = mannWhitneyGreater(evidence.canary.durationsMs, evidence.stable.durationsMs);
    const medians = `median canary ${fmtMs(canary.medianMs)} vs stable ${fmtMs(stable.medianMs)}`;
    if (mw.method !== 'none') {
      figures.durationP = mw.p;
      figures.durationMinP = mw.minP;
    }
    figures.durationMethod = mw.method;
    if (canary.medianMs !== null && stable.medianMs !== null && stable.medianMs > 0) figures.medianRatio = canary.medianMs / stable.medianMs;
    const ratio = figures.medianRatio;
    const ratioText = ratio === undefined ? '' : ` (×${ratio.toFixed(2)})`;
    if (mw.method === 'none' || mw.minP >= config.durationAlpha) {
      lines.durations =
        `durations: too few succeeded runs to conclude (canary ${mw.n1}, stable ${mw.n2}; ` +
        `smallest attainable p ${fmtP(mw.minP)} ≥ durationAlpha ${config.durationAlpha})`;
    } else {
      const significant = mw.p < config.durationAlpha;
      const large = ratio !== undefined && ratio >= config.maxMedianRatio;
      figures.checks.durations = significant && large ? 'fail' : 'pass';
      const test = `Mann-Whitney one-sided p = ${fmtP(mw.p)} ${significant ? '<' : '≥'} durationAlpha ${config.durationAlpha}`;
      const floor = `${large ? '≥' : '<'} maxMedianRatio ${config.maxMedianRatio}`;
      lines.durations = `durations: ${test}, ${medians}${ratioText} ${floor} (${mw.method}, n ${mw.n1}/${mw.n2})`;
    }
  }

  const order: JudgeCheck[] = ['error-rate', 'failures', 'durations'];
  const failed = order.filter((c) => figures.checks[c] === 'fail');
  const verdict: Verdict = failed.length > 0 ? 'fail' : order.some((c) => figures.checks[c] === 'inconclusive') ? 'inconclusive' : 'pass';
  const rank = (c: JudgeCheck): number => (figures.checks[c] === 'fail' ? 0 : figures.checks[c] === 'inconclusive' ? 1 : 2);
  const reasons = [...order].sort((a, b) => rank(a) - rank(b)).map((c) => lines[c]);
  return { verdict, reasons, failed, figures };
}

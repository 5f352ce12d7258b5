// Options of a canary rollout and its judge: schemas with their defaults, and validators that throw a
// TroupeError naming the option, the rule and the value (as src/runtime/validate.ts does for the rest).
import { z } from 'zod';
import { fieldError } from './errors.js';

/**
 * Defaults. alpha and durationAlpha are per check: a default rollout makes 19 checks (see
 * CANARY_CHECKS_PER_DEFAULT_ROLLOUT), and 0.001 each keeps false rollbacks of identical versions under 1 %:
 * 0.40 % (95 % CI 0.26–0.62 %) over 5,000 rollouts of src/bench/canary-sim.ts, where 0.01 each gives 2.45 %.
 * The looks are correlated (cumulative evidence), so the Bonferroni bound 2 × 19 × 0.001 = 3.8 % is loose.
 */
export const CANARY_DEFAULTS = {
  judge: {
    minCanaryRuns: 20,
    minStableRuns: 20,
    maxErrorRate: 0.5,
    alpha: 0.001,
    durationAlpha: 0.001,
    maxMedianRatio: 1.5,
  },
  rollout: {
    steps: [10, 25, 50, 75, 100] as readonly number[],
    stepRuns: 40,
    checkEveryRuns: 10,
  },
} as const;

/** Checks at the defaults: 3 in the first step (at 20, 30, 40 canary runs), then 4 in each of the other four. */
export const CANARY_CHECKS_PER_DEFAULT_ROLLOUT = 19;

const positiveInt = () => z.int().min(1);
const probability = () => z.number().gt(0).lt(1);
const D = CANARY_DEFAULTS.judge;

export const judgeSchema = z.strictObject({
  /** Canary runs (in the rollout so far) below which every judgement is inconclusive. Default 20. */
  minCanaryRuns: positiveInt().default(D.minCanaryRuns),
  /** Stable runs below which the comparative tests are inconclusive. Default 20. */
  minStableRuns: positiveInt().default(D.minStableRuns),
  /** Absolute ceiling: a canary failing more than this share of its runs fails, whatever stable does. Default 0.5. */
  maxErrorRate: z.number().min(0).max(1).default(D.maxErrorRate),
  /** Significance of the one-sided Fisher test on failures, per check. Default 0.001. */
  alpha: probability().default(D.alpha),
  /** Significance of the one-sided Mann-Whitney test on durations, per check. Default 0.001. */
  durationAlpha: probability().default(D.durationAlpha),
  /** Effect-size floor: a significant slowdown fails only when the canary's median is ≥ this × stable's. Default 1.5. */
  maxMedianRatio: z.number().min(1).default(D.maxMedianRatio),
});

export type JudgeConfig = z.output<typeof judgeSchema>;
export type JudgeOptions = z.input<typeof judgeSchema>;

const R = CANARY_DEFAULTS.rollout;

export const rolloutSchema = z
  .strictObject({
    /** Canary weights in percent, increasing, the last 100 (a rollout that never reaches 100 never promotes). */
    steps: z
      .array(z.int().min(1).max(100))
      .min(1)
      .refine((s) => s.every((w, i) => i === 0 || w > s[i - 1]!), 'must increase strictly')
      .refine((s) => s.at(-1) === 100, 'must end at 100')
      .default(() => [...R.steps]),
    /** A step ends after this many canary runs in it... */
    stepRuns: positiveInt().optional(),
    /** ...or after this long (paused time excluded); one of the two. Default: stepRuns 40. */
    stepMs: positiveInt().optional(),
    /** A check every this many canary runs in a step, and at the step's end. Default 10. */
    checkEveryRuns: positiveInt().default(R.checkEveryRuns),
    judge: judgeSchema.default(() => judgeSchema.parse({})),
  })
  .refine((o) => o.stepRuns === undefined || o.stepMs === undefined, { message: 'give stepRuns or stepMs, not both', path: ['stepMs'] })
  .transform((o) => (o.stepRuns === undefined && o.stepMs === undefined ? { ...o, stepRuns: R.stepRuns } : o));

export type RolloutPolicy = z.output<typeof rolloutSchema>;
export type RolloutOptions = z.input<typeof rolloutSchema>;

/** Parses with `schema`, or throws TROUPE_INVALID_OPTIONS for the first issue (a misspelled key first). */
function parse<S extends z.ZodType>(schema: S, input: unknown, prefix: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues.find((i) => i.code === 'unrecognized_keys') ?? parsed.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
  let value: unknown = input;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  const rule = issue.code === 'unrecognized_keys' ? 'is not a known option (misspelled?)' : issue.message.replace(/^Invalid input: /, '');
  throw fieldError('TROUPE_INVALID_OPTIONS', [prefix, ...path.map(String)].join('.'), rule, value);
}

/** The judge's options with defaults applied; throws a TroupeError naming the bad option. */
export function validateJudgeOptions(input: unknown, prefix = 'rollout.judge'): JudgeConfig {
  return parse(judgeSchema, input ?? {}, prefix);
}

/** A rollout's options with defaults applied; throws a TroupeError naming the bad option. */
export function validateRolloutOptions(input: unknown, prefix = 'rollout'): RolloutPolicy {
  return parse(rolloutSchema, input ?? {}, prefix);
}

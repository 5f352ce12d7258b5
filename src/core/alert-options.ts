import { z } from 'zod';

/** Defaults of the threshold alerts (`options.alerts`). */
export const ALERT_DEFAULTS = {
  intervalMs: 1_000,
  errorRate: { threshold: 0.2, windowMs: 60_000, minRuns: 20 },
  queueDepth: { threshold: 10_000, forMs: 60_000 },
  breakerOpen: true,
  noProgress: { afterMs: 300_000 },
} as const;

const positiveInt = () => z.int().min(1);
const nonNegativeInt = () => z.int().min(0);

const errorRate = z.strictObject({
  /** Fires when failed runs ÷ all runs in the window exceed this (0..1). Default 0.2. */
  threshold: z.number().min(0).max(1).default(ALERT_DEFAULTS.errorRate.threshold),
  /** The window the rate is taken over. Default 60 s. */
  windowMs: positiveInt().default(ALERT_DEFAULTS.errorRate.windowMs),
  /** Runs the window must hold before the rate counts. Default 20. */
  minRuns: positiveInt().default(ALERT_DEFAULTS.errorRate.minRuns),
});
const queueDepth = z.strictObject({
  /** Fires when more tasks than this are queued for `forMs`. Default 10,000. */
  threshold: nonNegativeInt().default(ALERT_DEFAULTS.queueDepth.threshold),
  /** Default 60 s. */
  forMs: nonNegativeInt().default(ALERT_DEFAULTS.queueDepth.forMs),
});
const p95Latency = z.strictObject({
  /** Fires when the end-to-end p95 of the tasks that finished since the last check exceeds this, */
  thresholdMs: positiveInt(),
  /** in every check with finished tasks for at least this long. Default 0 (at once). */
  forMs: nonNegativeInt().default(0),
});
const noProgress = z.strictObject({
  /** Fires when tasks are queued or running but none started or ended for this long. Default 5 min. */
  afterMs: positiveInt().default(ALERT_DEFAULTS.noProgress.afterMs),
});

/** `options.alerts`: threshold alerts, checked every `intervalMs`, reported as `alert` events and log lines. */
export const alertsSchema = z.strictObject({
  /** How often the rules are checked, on the runtime's clock. Default 1 s. */
  intervalMs: positiveInt().default(ALERT_DEFAULTS.intervalMs),
  // Each rule can be turned off with `false`.
  errorRate: z.union([z.literal(false), errorRate]).default(() => errorRate.parse({})),
  queueDepth: z.union([z.literal(false), queueDepth]).default(() => queueDepth.parse({})),
  /** Off unless set: no latency suits every agent (an LLM agent's run takes minutes). */
  p95Latency: z.union([z.literal(false), p95Latency]).default(false),
  /** One alert per open breaker. Default on. */
  breakerOpen: z.boolean().default(ALERT_DEFAULTS.breakerOpen),
  noProgress: z.union([z.literal(false), noProgress]).default(() => noProgress.parse({})),
});

export type AlertsConfig = z.output<typeof alertsSchema>;
export type AlertsOptions = z.input<typeof alertsSchema>;

export const ALERT_NAMES = ['error-rate', 'queue-depth', 'p95-latency', 'breaker-open', 'no-progress'] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** An alert that fires: `key` tells instances of one rule apart (the breaker's key for `breaker-open`). */
export interface FiringAlert {
  alert: AlertName;
  key?: string;
  /** The measured value that crossed the threshold, in the threshold's unit. */
  value: number;
  threshold: number;
  message: string;
  /** When it began firing. */
  since: number;
}

/** A change of one alert, as the `alert` event carries it. */
export type AlertChange = Omit<FiringAlert, 'since'> & { state: 'firing' | 'resolved'; at: number };

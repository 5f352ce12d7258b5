// The canary judge's false-rollback rate and power, measured: seeded simulated rollouts at the defaults.
//   node dist/bench/canary-sim.js --rollouts 5000 --seed 1 [--failure-rate 0.05] [--sigma 0.5] [--alpha A] [--duration-alpha A] [--json]
import { parseArgs } from 'node:util';
import { validateRolloutOptions } from '../internal.js';
import { scenarios, simulate, type Summary } from './canary-sim-model.js';

const { values } = parseArgs({
  options: {
    rollouts: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '1' },
    'failure-rate': { type: 'string', default: '0.05' },
    'median-ms': { type: 'string', default: '1000' },
    sigma: { type: 'string', default: '0.5' },
    alpha: { type: 'string' },
    'duration-alpha': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

function num(name: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n)) {
    process.stderr.write(`--${name}: must be a number (got ${JSON.stringify(text)})\n`);
    process.exit(2);
  }
  return n;
}

const rollouts = num('rollouts', values.rollouts);
const seed = num('seed', values.seed);
const judge: Record<string, number> = {};
if (values.alpha !== undefined) judge.alpha = num('alpha', values.alpha);
if (values['duration-alpha'] !== undefined) judge.durationAlpha = num('duration-alpha', values['duration-alpha']);
const policy = validateRolloutOptions({ judge });
const base = { failureRate: num('failure-rate', values['failure-rate']), medianMs: num('median-ms', values['median-ms']), sigma: num('sigma', values.sigma) };

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const started = performance.now();
const results: Summary[] = scenarios(base).map((s, i) => simulate(policy, s, rollouts, seed + i));
const elapsedS = (performance.now() - started) / 1000;

if (values.json) {
  process.stdout.write(`${JSON.stringify({ policy, base, seed, results, elapsedS }, null, 2)}\n`);
} else {
  const j = policy.judge;
  process.stdout.write(
    `canary-sim: ${rollouts} rollouts per case, seed ${seed}; steps ${policy.steps.join('/')} %, stepRuns ${policy.stepRuns}, ` +
      `check every ${policy.checkEveryRuns} canary runs; minCanaryRuns ${j.minCanaryRuns}, maxErrorRate ${j.maxErrorRate}, ` +
      `alpha ${j.alpha}, durationAlpha ${j.durationAlpha}, maxMedianRatio ${j.maxMedianRatio}\n` +
      `stable: ${pct(base.failureRate)} failures, lognormal durations median ${base.medianMs} ms, sigma ${base.sigma}\n\n`,
  );
  for (const r of results) {
    const runs = r.runsToRollback === null ? '—' : `p50 ${r.runsToRollback.p50} / p95 ${r.runsToRollback.p95} / max ${r.runsToRollback.max}`;
    const share = r.canaryShareAtRollback === null ? '—' : pct(r.canaryShareAtRollback);
    const checks = Object.entries(r.failedChecks).map(([c, n]) => `${c} ${n}`).join(', ') || '—';
    process.stdout.write(
      `${r.scenario}: rolled back ${r.rolledBack}/${r.rollouts} = ${pct(r.rollbackRate)} (95% CI ${pct(r.interval[0])}–${pct(r.interval[1])}); ` +
        `promoted ${r.promoted}, stuck ${r.stuck}; checks per rollout ${r.meanChecks.toFixed(1)}\n` +
        `  canary runs until rollback: ${runs}; canary share of tasks until rollback ${share}; failed checks: ${checks}\n`,
    );
  }
  process.stdout.write(`\n${elapsedS.toFixed(1)} s\n`);
}

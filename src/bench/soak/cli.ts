/**
 * `npm run soak:steady` (`node dist/bench/soak/cli.js`): the daemon under a steady mixed load for
 * 30 minutes (`--minutes N`), a row per minute, pass criteria checked at the end.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, program, runProgram, usage, type Outcome } from '../../daemon/index.js';
import type { SoakOptions } from './plan.js';
import { criteriaLines, renderMarkdown, totalsLine } from './render.js';
import { runSoak } from './run.js';

const DEFAULTS = { minutes: 30, intervalSeconds: 60, scale: 1, out: 'bench-results' } as const;

const ABOUT = `Starts \`troupe daemon\` (the built CLI) in a child process with a journal in a temp directory and
drives it over its HTTP API with a steady mixed load: module agents, a command agent (a subprocess
per run), runs that fail and are retried, some tasks that end dead by design, an agent whose
failures open and close its breaker in phases, three event-stream clients, retention on. Prints a
row per minute: the daemon's RSS and heap, the journal's size, p50/p99 submit → result, tasks
submitted, succeeded and dead. Then checks: RSS drift after warm-up under 5%, the journal bounded,
nothing lost. Writes soak-steady.json and soak-steady.md.`;

/** A number > 0 (fractions allowed); the error names the flag. */
function positive(flag: string): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) throw usage(`${flag} must be a number > 0 (got ${JSON.stringify(raw)})`);
    return n;
  };
}

type Flags = { minutes?: number; seconds?: number; intervalSeconds?: number; scale?: number; out?: string };

function options(values: Flags): SoakOptions {
  const { minutes, seconds } = values;
  if (minutes !== undefined && seconds !== undefined) throw usage('give --minutes or --seconds, not both');
  const durationMs = Math.round(seconds !== undefined ? seconds * 1000 : (minutes ?? DEFAULTS.minutes) * 60_000);
  const intervalMs = Math.round((values.intervalSeconds ?? DEFAULTS.intervalSeconds) * 1000);
  if (values.out === '') throw usage('--out must not be empty');
  return { durationMs, intervalMs, scale: values.scale ?? DEFAULTS.scale, out: values.out ?? DEFAULTS.out };
}

export async function runSoakCli(args: string[]): Promise<number> {
  const outcome: Outcome = { code: EXIT.OK };
  const cmd = program('soak')
    .usage('[options]     (npm run soak:steady -- [options], or node dist/bench/soak/cli.js [options])')
    .description(ABOUT)
    .option('--minutes <n>', `length of the load (default ${DEFAULTS.minutes}); fractions allowed`, positive('--minutes'))
    .option('--seconds <n>', 'the same in seconds (instead of --minutes)', positive('--seconds'))
    .option('--interval-seconds <n>', `length of a report row (default ${DEFAULTS.intervalSeconds})`, positive('--interval-seconds'))
    .option('--scale <x>', `multiplies every rate of the load (default ${DEFAULTS.scale}: about 28 tasks/s)`, positive('--scale'))
    .option('--out <dir>', `directory for soak-steady.json and .md (default ${DEFAULTS.out})`)
    .addHelpText('after', '\nExit status: 0 every criterion passed, 1 one failed (or the soak could not run), 2 bad arguments.')
    .action(async (values: Flags) => {
      outcome.code = await soak(options(values));
    });
  return runProgram(cmd, args, outcome);
}

async function soak(options: SoakOptions): Promise<number> {
  const report = await runSoak(options, (s) => process.stdout.write(s));
  process.stdout.write(`\n${totalsLine(report)}\n\n${criteriaLines(report.criteria)}`);
  await mkdir(options.out, { recursive: true });
  const json = join(options.out, 'soak-steady.json');
  const md = join(options.out, 'soak-steady.md');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(md, renderMarkdown(report));
  process.stderr.write(`wrote ${json} and ${md}\n`);
  return report.passed ? EXIT.OK : EXIT.FAILED;
}

runSoakCli(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.FAILED;
  },
);

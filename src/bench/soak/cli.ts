/**
 * `npm run soak:steady` (`node dist/bench/soak/cli.js`): the daemon under a steady mixed load for
 * 30 minutes (`--minutes N`), a row per minute, pass criteria checked at the end.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SoakOptions } from './plan.js';
import { criteriaLines, renderMarkdown, totalsLine } from './render.js';
import { runSoak } from './run.js';

const DEFAULTS = { minutes: 30, intervalSeconds: 60, scale: 1, out: 'bench-results' } as const;

const USAGE = `Usage: npm run soak:steady -- [options]     (node dist/bench/soak/cli.js [options])

Starts \`troupe daemon\` (the built CLI) in a child process with a journal in a temp directory and
drives it over its HTTP API with a steady mixed load: module agents, a command agent (a subprocess
per run), runs that fail and are retried, some tasks that end dead by design, an agent whose
failures open and close its breaker in phases, three event-stream clients, retention on. Prints a
row per minute: the daemon's RSS and heap, the journal's size, p50/p99 submit → result, tasks
submitted, succeeded and dead. Then checks: RSS drift after warm-up under 5%, the journal bounded,
nothing lost. Writes soak-steady.json and soak-steady.md.

Options:
  --minutes N           length of the load (default ${DEFAULTS.minutes}); fractions allowed
  --seconds N           the same in seconds (instead of --minutes)
  --interval-seconds N  length of a report row (default ${DEFAULTS.intervalSeconds})
  --scale X             multiplies every rate of the load (default ${DEFAULTS.scale}: about 28 tasks/s)
  --out DIR             directory for soak-steady.json and .md (default ${DEFAULTS.out})
  -h, --help            show this help

Exit status: 0 every criterion passed, 1 one failed (or the soak could not run), 2 bad arguments.`;

class UsageError extends Error {}

function positive(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} must be a number > 0 (got ${JSON.stringify(raw)})`);
  return n;
}

function parse(args: string[]): SoakOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        minutes: { type: 'string' },
        seconds: { type: 'string' },
        'interval-seconds': { type: 'string' },
        scale: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help === true) return 'help';
  const minutes = positive('minutes', values.minutes);
  const seconds = positive('seconds', values.seconds);
  if (minutes !== undefined && seconds !== undefined) throw new UsageError('give --minutes or --seconds, not both');
  const durationMs = Math.round(seconds !== undefined ? seconds * 1000 : (minutes ?? DEFAULTS.minutes) * 60_000);
  const intervalMs = Math.round((positive('interval-seconds', values['interval-seconds']) ?? DEFAULTS.intervalSeconds) * 1000);
  if (values.out === '') throw new UsageError('--out must not be empty');
  return { durationMs, intervalMs, scale: positive('scale', values.scale) ?? DEFAULTS.scale, out: values.out ?? DEFAULTS.out };
}

export async function runSoakCli(args: string[]): Promise<number> {
  let options;
  try {
    options = parse(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`soak: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const report = await runSoak(options, (s) => process.stdout.write(s));
  process.stdout.write(`\n${totalsLine(report)}\n\n${criteriaLines(report.criteria)}`);
  await mkdir(options.out, { recursive: true });
  const json = join(options.out, 'soak-steady.json');
  const md = join(options.out, 'soak-steady.md');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(md, renderMarkdown(report));
  process.stderr.write(`wrote ${json} and ${md}\n`);
  return report.passed ? 0 : 1;
}

runSoakCli(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

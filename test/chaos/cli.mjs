// The long crash test: `npm run test:chaos -- --kills 1000 [--seed N] [--dir D] [--keep] [--quiet]`.
// Prints the report as JSON; exits 1 on any lost task, duplicate completion, missing side effect or other anomaly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashTest } from './harness.mjs';

const { values: args } = parseArgs({
  options: {
    kills: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    dir: { type: 'string' },
    'max-delay': { type: 'string' },
    keep: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});

const dir = args.dir ?? mkdtempSync(join(tmpdir(), 'troupe-chaos-'));
const kills = Number(args.kills);
const started = Date.now();
let report;
try {
  report = await runCrashTest({
    kills,
    dir,
    ...(args.seed === undefined ? {} : { seed: Number(args.seed) }),
    ...(args['max-delay'] === undefined ? {} : { maxDelayMs: Number(args['max-delay']) }),
    log: (line) => {
      if (!args.quiet) process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
    },
  });
} catch (err) {
  process.stderr.write(`crash test aborted: ${err instanceof Error ? err.message : String(err)}\nfiles kept in ${dir}\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
if (!report.ok) {
  process.stderr.write(`crash test FAILED (seed ${report.seed}); files kept in ${dir}\n`);
  process.exit(1);
}
if (args.keep || args.dir !== undefined) process.stderr.write(`files kept in ${dir}\n`);
else rmSync(dir, { recursive: true, force: true });

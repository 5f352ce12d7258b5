/** `troupe bench [workload...] [options]`: runs benchmark workloads and reports them. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { EXIT, intFlag, program, runProgram, usage, type Outcome } from '../daemon/index.js';
import { renderSvg } from './chart.js';
import { probeFsync, type FsyncProbe } from './fsync-probe.js';
import { gcBetweenCases, runSections, type BenchOptions, type Workload } from './harness.js';
import { benchProgress, type BenchProgress } from './progress.js';
import { commandLine, machineInfo, renderJson, renderMarkdown, renderText, type BenchReport } from './report.js';
import { findWorkload, WORKLOADS } from './workloads/index.js';
import { DISTRIBUTION_TASKS } from './workloads/distribution.js';

const DEFAULTS = { runs: 5, tasks: 20_000, latencyTasks: 500, queued: 100_000, inFlight: 100_000, out: 'bench-results' } as const;

/** The help's text around commander's list of options: what it does, and the workloads. */
function about(): { before: string; after: string } {
  const names = WORKLOADS.map((w) => `  ${w.name.padEnd(18)}${w.summary}`).join('\n');
  // One paragraph each: commander wraps the description to the terminal, so no line breaks of our own.
  return { before: ['Measures what a task costs in Troupe, against raw Piscina and an in-process loop, what its journal costs, and how fast it recovers from a kill.',
    'Prints a table, and writes <workload>.json (every sample), <workload>.md (a table for the README) and <workload>.svg (a chart of each system\'s figures).',
    'Before the first workload, the disk\'s fsync cost is measured in the temp directory, where the journals go, and reported with the core count beside every figure.'].join('\n\n'), after: `
Workloads (default: all, in this order):
${names}

A progress bar goes to stderr when it is a terminal. Run node with --expose-gc to collect the
heap before each measurement. Exit status: 0 done, 1 a workload failed, 2 bad arguments.` };
}


/** What `--only` can name, workload by workload: "scenarios: a, b, …". */
function selectableNames(): string {
  return WORKLOADS.flatMap((w) => (w.selectable === undefined ? [] : [`${w.name}: ${w.selectable.join(', ')}`])).join('; ');
}

/** `--only`'s names, each one a row of a workload asked for. */
function parseOnly(raw: string | undefined, workloads: readonly Workload[]): string[] | undefined {
  if (raw === undefined) return undefined;
  const names = [...new Set(raw.split(',').map((n) => n.trim()).filter((n) => n !== ''))];
  const known = new Set(workloads.flatMap((w) => w.selectable ?? []));
  if (known.size === 0) throw usage(`--only applies to workloads with a choice of rows (${selectableNames()})`);
  if (names.length === 0) throw usage('--only must name at least one row');
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) throw usage(`--only: unknown ${unknown.map((n) => `"${n}"`).join(', ')} (${selectableNames()})`);
  return names;
}

interface Parsed {
  workloads: Workload[];
  options: BenchOptions;
  out: string;
}

type Flags = { runs?: number; tasks?: number; latencyTasks?: number; queued?: number; inFlight?: number; only?: string; out?: string };

/** The workloads and options from what commander parsed; what depends on the workloads is checked here. */
function resolveArgs(positionals: string[], values: Flags): Parsed {
  const names = positionals.length === 0 ? WORKLOADS.map((w) => w.name) : [...new Set(positionals)];
  const workloads = names.map((name) => {
    const w = findWorkload(name);
    if (w === undefined) {
      throw usage(`unknown workload "${name}" (workloads: ${WORKLOADS.map((x) => x.name).join(', ')})`);
    }
    return w;
  });
  const out = values.out ?? DEFAULTS.out;
  if (out === '') throw usage('--out must not be empty');
  const only = parseOnly(values.only, workloads);
  if (extname(out) === '.json' && workloads.length > 1) {
    throw usage(`--out ${out} names one file, but ${workloads.length} workloads were asked for; give a directory`);
  }
  return {
    workloads,
    out,
    options: {
      runs: values.runs ?? DEFAULTS.runs,
      tasks: values.tasks ?? DEFAULTS.tasks,
      latencyTasks: values.latencyTasks ?? DEFAULTS.latencyTasks,
      queued: values.queued ?? DEFAULTS.queued,
      inFlight: values.inFlight ?? DEFAULTS.inFlight,
      ...(only === undefined ? {} : { only }),
    },
  };
}

interface OutputPaths {
  json: string;
  md: string;
  svg: string;
}

/** Where a workload's JSON, Markdown and chart go. */
function outputPaths(out: string, workload: string): OutputPaths {
  const stem = extname(out) === '.json' ? out.slice(0, -'.json'.length) : join(out, workload);
  return { json: `${stem}.json`, md: `${stem}.md`, svg: `${stem}.svg` };
}

/** Where this run stands: which workload of how many, the bar, and the fsync cost measured once. */
interface RunContext {
  index: number;
  count: number;
  progress: BenchProgress;
  fsync: FsyncProbe;
}

async function runWorkload(workload: Workload, options: BenchOptions, ctx: RunContext): Promise<BenchReport> {
  const startedAt = new Date();
  const machine = machineInfo(ctx.fsync); // before measuring: the commit is the one measured
  const t0 = performance.now();
  const sections = workload.plan(options);
  const bar = ctx.progress.workload(workload.name, ctx.index, ctx.count, sections, options.runs);
  let results;
  try {
    results = await runSections(sections, options.runs, bar.step);
  } finally {
    bar.stop();
  }
  return {
    workload: workload.name,
    title: workload.title,
    summary: workload.summary,
    command: commandLine(),
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    settings: { ...options, warmupRuns: 1, gcBetweenCases: gcBetweenCases() },
    machine,
    sections: results,
    ...(workload.conclude === undefined ? {} : { conclusion: workload.conclude(results) }),
  };
}

async function writeOutputs(report: BenchReport, out: string): Promise<string[]> {
  const paths = outputPaths(out, report.workload);
  for (const p of [paths.json, paths.md, paths.svg]) await mkdir(dirname(p), { recursive: true });
  await writeFile(paths.json, renderJson(report));
  // The Markdown links the chart by its path from the Markdown file, so the pair can move together.
  await writeFile(paths.md, renderMarkdown(report, relative(dirname(paths.md), paths.svg)));
  await writeFile(paths.svg, renderSvg(report));
  return [paths.json, paths.md, paths.svg].map((p) => {
    const rel = relative(process.cwd(), p);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(p) : rel;
  });
}

/** Runs `troupe bench` with the arguments after `bench`; resolves with the exit status. */
export async function runBenchCli(args: string[]): Promise<number> {
  const outcome: Outcome = { code: EXIT.OK };
  const n = (flag: string) => intFlag(flag, 1);
  const text = about();
  const cmd = program('troupe bench')
    .usage('[workload...] [options]')
    .description(text.before)
    .argument('[workload...]', 'the workloads to run (default: all)')
    .option('--runs <n>', `measured runs per figure, each figure the median (default ${DEFAULTS.runs}); one more warm-up run comes first and is discarded`, n('--runs'))
    .option('--tasks <n>', `tasks per throughput measurement (default ${DEFAULTS.tasks}); graph: tasks of its wide DAG, at most 10,000 (submitGraph()'s limit), chains scaled from it; distribution: specialists per run, at most its default of ${DISTRIBUTION_TASKS}`, n('--tasks'))
    .option('--latency-tasks <n>', `tasks per latency measurement, run one at a time (default ${DEFAULTS.latencyTasks})`, n('--latency-tasks'))
    .option('--queued <n>', `tasks submitted in one burst and held queued, workload burst (default ${DEFAULTS.queued})`, n('--queued'))
    .option('--in-flight <n>', `tasks accepted and in flight when the process is killed, workload recovery (default ${DEFAULTS.inFlight})`, n('--in-flight'))
    .option('--only <list>', `rows to run, comma-separated, in the workloads that offer a choice (${selectableNames()})`)
    .option('--out <path>', `directory for <workload>.json, .md and .svg (default ${DEFAULTS.out}/); or, with a single workload, the JSON file itself (the .md and .svg go beside it)`)
    .addHelpText('after', text.after)
    .action(async (names: string[], values: Flags) => {
      outcome.code = await run(resolveArgs(names, values));
    });
  return runProgram(cmd, args, outcome);
}

async function run(parsed: Parsed): Promise<number> {
  // Once per invocation, before any workload loads the machine: the disk as the journals find it.
  const ctx = { index: 0, count: parsed.workloads.length, progress: benchProgress(process.stderr), fsync: probeFsync() };
  for (const [index, workload] of parsed.workloads.entries()) {
    let report: BenchReport;
    try {
      report = await runWorkload(workload, parsed.options, { ...ctx, index });
    } catch (err) {
      const e = err as { stack?: string };
      process.stderr.write(`troupe bench: workload ${workload.name} failed: ${e.stack ?? String(err)}\n`);
      return EXIT.FAILED;
    }
    process.stdout.write(`${index === 0 ? '' : '\n'}${renderText(report)}`);
    const written = await writeOutputs(report, parsed.out);
    process.stderr.write(`wrote ${written.slice(0, -1).join(', ')} and ${written.at(-1)!}\n`);
  }
  return EXIT.OK;
}

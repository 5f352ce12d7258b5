/**
 * Shared reporting: the machine and command a result came from, and the three renderings of a
 * workload's results (plain text for the terminal, Markdown for the README, JSON for tools).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, arch, release, totalmem } from 'node:os';
import { basename, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { version as piscinaVersion } from 'piscina';
import { isFsyncCost, type FsyncProbe } from './fsync-probe.js';
import type { BenchOptions, SectionResult } from './harness.js';
import type { Summary } from './stats.js';

export interface MachineInfo {
  /** Threads the process may use (os.availableParallelism()). */
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  arch: string;
  osRelease: string;
  memoryGiB: number;
  troupe: string;
  /** The git commit of the measured tree, `+dirty` when tracked files had uncommitted changes. */
  source: string;
  piscina: string;
  /**
   * The disk's fsync cost where the bench's journals go, measured once per `troupe bench`
   * invocation before the first workload. Absent in results written before it was measured.
   */
  fsync?: FsyncProbe;
}

/** Everything one workload produced: what the JSON file holds and what the other renderings show. */
export interface BenchReport {
  workload: string;
  title: string;
  summary: string;
  /** The command line that produced these figures. */
  command: string;
  startedAt: string;
  durationMs: number;
  settings: BenchOptions & { warmupRuns: 1; gcBetweenCases: boolean };
  machine: MachineInfo;
  sections: SectionResult[];
  /** What the figures say (workloads with `conclude`), a paragraph each, printed under the tables. */
  conclusion?: string[];
}

export function machineInfo(fsync?: FsyncProbe): MachineInfo {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: platform(),
    arch: arch(),
    osRelease: release(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    troupe: pkg.version,
    source: gitSource(),
    piscina: piscinaVersion,
    ...(fsync === undefined ? {} : { fsync }),
  };
}

/** `abc1234` or `abc1234+dirty` for the package's checkout; `unknown` outside git. */
function gitSource(): string {
  const cwd = fileURLToPath(new URL('../../', import.meta.url));
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
  try {
    const commit = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') === '' ? commit : `${commit}+dirty`;
  } catch {
    return 'unknown';
  }
}

/** The command line of this process, as one would type it again from the same directory. */
export function commandLine(argv: readonly string[] = process.argv, execArgv: readonly string[] = process.execArgv): string {
  const [, script = '', ...args] = argv;
  const name = basename(script);
  const program = name === 'troupe' ? ['troupe'] : ['node', ...execArgv, relative(process.cwd(), script) || script];
  return [...program, ...args].map(shellQuote).join(' ');
}

function shellQuote(word: string): string {
  return /^[\w./=:,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Microseconds as the reports show a sync: "255 µs", "1.9 ms", "12 ms". */
export function formatMicros(us: number): string {
  if (us < 1000) return `${formatNumber(us, 0)} µs`;
  return `${formatNumber(us / 1000, us < 10_000 ? 1 : 0)} ms`;
}

/** "fsync 1.9 ms median (p99 4.1 ms) on /tmp (ext4)", or why it was not measured. */
export function fsyncLine(p: FsyncProbe | undefined): string {
  if (p === undefined) return 'fsync not measured';
  if (!isFsyncCost(p)) return `fsync not measured on ${p.path}: ${p.error}`;
  return `fsync ${formatMicros(p.medianUs)} median (p99 ${formatMicros(p.p99Us)}) on ${p.path} (${p.fileSystem})`;
}

/** The two facts every figure should be read against: how many cores, and what a sync costs. */
export function machineHeadline(m: MachineInfo): string {
  return `${m.cores} cores · ${fsyncLine(m.fsync)}`;
}

/** The rest of the machine and the software measured. */
export function machineDetails(m: MachineInfo): string {
  return `${m.cpuModel}, Node ${m.node}, ${m.platform} ${m.arch}, ${m.memoryGiB} GiB; troupe ${m.troupe} (${m.source}), piscina ${m.piscina}`;
}

export function machineLine(m: MachineInfo): string {
  return `${machineHeadline(m)}; ${machineDetails(m)}`;
}

function settingsLine(r: BenchReport): string {
  const s = r.settings;
  const gc = s.gcBetweenCases ? ', heap collected before each measurement' : '';
  return `median of ${s.runs} run${s.runs === 1 ? '' : 's'} after ${s.warmupRuns} warm-up run (discarded)${gc}`;
}

// ---------------------------------------------------------------------------------------------
// Number formatting

export function formatNumber(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatRatio(r: number): string {
  const digits = r >= 100 ? 0 : r >= 10 ? 1 : 2;
  return `${r.toFixed(digits)}×`;
}

function formatRange(s: Summary, digits: number): string {
  return `${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)}`;
}

// ---------------------------------------------------------------------------------------------
// Tables

export interface Table {
  header: string[];
  rows: string[][];
}

/** The cell of a figure a row does not have. */
const NOT_REPORTED = '–';

/** One table per section: label, then per metric its median and range, then per metric the ratio. */
function sectionTable(section: SectionResult): Table {
  // With several metrics, columns other than the median are named by the metric's first word (p50, p99).
  const prefix = (label: string): string => (section.metrics.length === 1 ? '' : `${label.split(' ')[0]} `);
  const header = [''];
  for (const m of section.metrics) header.push(m.label, `${prefix(m.label)}range`);
  const withRatio = section.metrics.filter((m) => m.ratio !== false);
  if (section.baseline !== undefined) {
    for (const m of withRatio) header.push(`${prefix(m.label)}vs ${section.baseline.short}`);
  }
  const rows = section.rows.map((row) => {
    const cells = [row.label];
    for (const m of section.metrics) {
      const s = row.figures[m.key];
      // An optional metric this row does not report (another system's row beside Troupe's counters).
      if (s === undefined) cells.push(NOT_REPORTED, NOT_REPORTED);
      else cells.push(formatNumber(s.median, m.digits), formatRange(s, m.digits));
    }
    if (row.ratio !== undefined) for (const m of withRatio) cells.push(formatRatio(row.ratio[m.key]!.median));
    return cells;
  });
  return { header, rows };
}

function textTable(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(t.header), line(widths.map((w) => '-'.repeat(w))), ...t.rows.map(line)].join('\n');
}

/** A Markdown table: the first column left-aligned, the others right-aligned. */
export function markdownTable(t: Table): string {
  const escape = (c: string): string => c.replace(/\|/g, '\\|');
  const line = (cells: string[]): string => `| ${cells.map(escape).join(' | ')} |`;
  const align = t.header.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [line(t.header), `|${align.join('|')}|`, ...t.rows.map(line)].join('\n');
}

function ratioNote(section: SectionResult): string {
  if (section.baseline === undefined) return '';
  const better = section.metrics[0]!.better === 'higher' ? 'above 1 is faster' : 'below 1 is faster';
  return ` Ratio: the row ÷ ${section.baseline.short} in the same run, median over runs (${better}).`;
}

// ---------------------------------------------------------------------------------------------
// Renderings

/** The plain-text report for stdout: the cores and fsync cost first, as every figure depends on them. */
export function renderText(r: BenchReport): string {
  const out = [
    `troupe bench ${r.workload}: ${r.title}`,
    `machine:  ${machineHeadline(r.machine)}`,
    `          ${machineDetails(r.machine)}`,
    `command:  ${r.command}`,
    `figures:  ${settingsLine(r)}`,
  ];
  for (const section of r.sections) {
    out.push('', `${section.title}:`, textTable(sectionTable(section)), `  ${section.method}${ratioNote(section)}`);
  }
  if (r.conclusion !== undefined) out.push('', 'Conclusion:', ...r.conclusion.map((p) => `  ${p}`));
  return `${out.join('\n')}\n`;
}

/**
 * The Markdown report, ready to paste into the README. `chart`, the SVG's path relative to the
 * Markdown file, is embedded under the tables.
 */
export function renderMarkdown(r: BenchReport, chart?: string): string {
  const out = [`### \`${r.workload}\`: ${r.title}`, '', `Machine: ${machineHeadline(r.machine)}.`, ''];
  for (const section of r.sections) {
    out.push(`**${section.title}**`, '', markdownTable(sectionTable(section)), '', `${section.method}${ratioNote(section)}`, '');
  }
  if (r.conclusion !== undefined) out.push(...r.conclusion.map((p, i) => `${i === 0 ? '**Conclusion.** ' : ''}${p}\n`));
  if (chart !== undefined) out.push(`![${markdownText(`${r.workload}: ${r.title}`)}](${markdownUrl(chart)})`, '');
  out.push(
    `Figures: ${settingsLine(r)}. Machine: ${machineDetails(r.machine)}. ${r.startedAt.slice(0, 10)}.`,
    '',
    ...producedBy(r.command),
  );
  return `${out.join('\n')}\n`;
}

/** A relative path as a link target: parentheses and spaces would end it early. */
function markdownUrl(path: string): string {
  return encodeURI(path).replace(/\(/g, '%28').replace(/\)/g, '%29');
}

/** Alt text: brackets would end the image's label early. */
function markdownText(s: string): string {
  return s.replace(/[[\]\\]/g, (c) => `\\${c}`);
}

export function renderJson(r: BenchReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

/** The Markdown lines that say which command produced a report. */
export function producedBy(command: string): string[] {
  return ['Produced by:', '', '```sh', command, '```'];
}

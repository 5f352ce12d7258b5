/**
 * The SVG chart of one workload's results: per section, per metric, a horizontal bar per system
 * (row) at its median, with min–max whiskers across the runs and the baseline marked. A pure
 * function of the report, plain SVG with no scripts or styles, so that the README (and GitHub's
 * image proxy) can show it as an image.
 */
import type { Metric, RowResult, SectionResult } from './harness.js';
import { formatNumber, formatRatio, machineDetails, machineHeadline, type BenchReport } from './report.js';
import type { Summary } from './stats.js';

const WIDTH = 960;
const MARGIN = 24;
/** Room right of the longest bar for its value and ratio. */
const VALUE_WIDTH = 170;
const BAR_HEIGHT = 18;
const ROW_PITCH = 26;
const LABEL_SIZE = 13;
/** Bold text is about this much wider: fit() takes it as a larger size. */
const BOLD = 1.08;
/** Label column bounds: long labels are cut with an ellipsis (the full label is the bar's tooltip). */
const LABEL_MIN = 120;
const LABEL_MAX = 360;
/**
 * A row more than this many times the next largest gets a cut bar (drawn to the edge with a break
 * mark) and the scale is set by the others: otherwise an in-process loop 200× faster than the pool
 * leaves every other bar a pixel wide.
 */
const BREAK_FACTOR = 10;
/** How far a cut bar runs past the end of the scale, so it reads as off the scale. */
const CUT_OVERRUN = 22;

const INK = '#1f2328';
const MUTED = '#57606a';
const GRID = '#d8dee4';
const BASELINE_FILL = '#9aa3ad';
/** Rows other than the baseline, by row id: the same system keeps its colour across metrics and sections. */
const PALETTE = ['#3b6fd4', '#e08a2c', '#2e9e6a', '#c4477a', '#7a5cc7', '#8c6d31', '#1b9aaa', '#d1495b', '#6b8e23', '#b07aa1'];

// ---------------------------------------------------------------------------------------------
// Text

/** Escapes text for both element content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Advance of one character in em, after Arial's, rounded up: narrow, wide and capital letters differ by 3×. */
function charEm(c: string): number {
  if (/[ .,:;'|!il]/.test(c)) return 0.28;
  if (/[jft()[\]\-r"]/.test(c)) return 0.34;
  if (/[mwMW%@]/.test(c)) return 0.86;
  if (/[A-Z]/.test(c)) return 0.68;
  if (/[…—]/.test(c)) return 1;
  return 0.56;
}

/**
 * Width of `s` in sans-serif at `size` px, roughly (there are no font metrics without a renderer),
 * with 10% to spare for wider faces such as DejaVu Sans.
 */
function textWidth(s: string, size: number): number {
  let em = 0;
  for (const c of s) em += charEm(c);
  return em * size * 1.1;
}

/** `s` cut with an ellipsis to fit `width` px. */
function fit(s: string, width: number, size: number): string {
  if (textWidth(s, size) <= width) return s;
  const chars = [...s];
  while (chars.length > 1 && textWidth(`${chars.join('').trimEnd()}…`, size) > width) chars.pop();
  return `${chars.join('').trimEnd()}…`;
}

/** `s` in lines that fit `width` px, broken at spaces; a word longer than a line is cut. */
function wrap(s: string, width: number, size: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (line !== '' && textWidth(candidate, size) > width) {
      lines.push(line);
      line = word;
    } else line = candidate;
  }
  lines.push(line);
  return lines.map((l) => fit(l, width, size));
}

function text(x: number, y: number, content: string, attrs: Record<string, string | number> = {}): string {
  return `<text x="${num(x)}" y="${num(y)}"${attributes(attrs)}>${xmlEscape(content)}</text>`;
}

function attributes(attrs: Record<string, string | number>): string {
  return Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : xmlEscape(v)}"`)
    .join('');
}

/** Coordinates to two decimals: enough for a screen, short in the file. */
function num(n: number): string {
  return String(Math.round(n * 100) / 100);
}

// ---------------------------------------------------------------------------------------------
// Scale

/** A round step (1, 2, 2.5 or 5 × 10^k) near `raw`. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * power;
}

interface Scale {
  /** Value at the right end of the plot; 0 maps to its left end. */
  max: number;
  ticks: number[];
  /** Ids of the rows drawn cut. */
  cut: Set<string>;
}

/**
 * The linear scale of one metric's panel: from 0 to a round value above every median and whisker
 * of the rows not cut, so bar widths are proportional to the values.
 */
function panelScale(rows: readonly RowResult[], key: string): Scale {
  const cut = new Set<string>();
  const byMedian = [...rows].sort((a, b) => b.figures[key]!.median - a.figures[key]!.median);
  const [top, next] = byMedian;
  // Only with two others left to compare: with one, cutting the top row would hide the comparison.
  if (top !== undefined && next !== undefined && byMedian.length >= 3 && next.figures[key]!.median > 0) {
    if (top.figures[key]!.median > BREAK_FACTOR * next.figures[key]!.median) cut.add(top.id);
  }
  let dataMax = 0;
  for (const row of rows) if (!cut.has(row.id)) dataMax = Math.max(dataMax, row.figures[key]!.median, row.figures[key]!.max);
  if (!(dataMax > 0)) return { max: 1, ticks: [0, 1], cut };
  const step = niceStep(dataMax / 4);
  const max = Math.ceil(dataMax / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= max + step * 1e-9; i += 1) ticks.push(i * step);
  return { max, ticks, cut };
}

/** Tick labels: 0, 250, 10k, 1.5M. */
function compact(n: number): string {
  const trim = (x: number): string => String(Number(x.toPrecision(3)));
  if (n >= 1e6) return `${trim(n / 1e6)}M`;
  if (n >= 1e3) return `${trim(n / 1e3)}k`;
  return trim(n);
}

// ---------------------------------------------------------------------------------------------
// Layout

interface Frame {
  /** Fill of each row id when it is not its section's baseline. */
  colours: Map<string, string>;
  labelWidth: number;
  /** Left end of the bars (value 0). */
  plotX: number;
  plotWidth: number;
}

function frameFor(report: BenchReport): Frame {
  const longest = Math.max(0, ...report.sections.flatMap((s) => s.rows.map((r) => textWidth(r.label, LABEL_SIZE))));
  const labelWidth = Math.min(LABEL_MAX, Math.max(LABEL_MIN, Math.ceil(longest)));
  const plotX = MARGIN + labelWidth + 12;
  return { colours: rowColours(report.sections), labelWidth, plotX, plotWidth: WIDTH - MARGIN - VALUE_WIDTH - plotX };
}

/**
 * Metrics to chart: those compared with the baseline; counts kept only for the record (ratio: false)
 * stay in the tables, and so do optional metrics, which some rows lack.
 */
function chartedMetrics(section: SectionResult): Metric[] {
  const compared = section.metrics.filter((m) => m.ratio !== false);
  return compared.length > 0 ? compared : section.metrics.filter((m) => m.optional !== true);
}

/** A palette colour per row id, in order of first appearance as a row that is not the baseline. */
function rowColours(sections: readonly SectionResult[]): Map<string, string> {
  const colours = new Map<string, string>();
  for (const section of sections) {
    for (const row of section.rows) {
      if (row.id !== section.baseline?.id && !colours.has(row.id)) colours.set(row.id, PALETTE[colours.size % PALETTE.length]!);
    }
  }
  return colours;
}

function fillOf(section: SectionResult, row: RowResult, frame: Frame): string {
  return section.baseline?.id === row.id ? BASELINE_FILL : (frame.colours.get(row.id) ?? PALETTE[0]!);
}

/** "13,652 · 0.44×", "30,636 · baseline", or the bare value without a baseline. */
function valueText(section: SectionResult, row: RowResult, metric: Metric): string {
  const value = formatNumber(row.figures[metric.key]!.median, metric.digits);
  if (section.baseline?.id === row.id) return `${value} · baseline`;
  const ratio = row.ratio?.[metric.key];
  return ratio === undefined ? value : `${value} · ${formatRatio(ratio.median)}`;
}

function whisker(x0: number, x1: number, cy: number): string {
  const cap = BAR_HEIGHT / 2 - 3;
  return (
    `<g class="whisker" stroke="${INK}" stroke-width="1.3">` +
    `<line x1="${num(x0)}" y1="${num(cy)}" x2="${num(x1)}" y2="${num(cy)}"/>` +
    `<line x1="${num(x0)}" y1="${num(cy - cap)}" x2="${num(x0)}" y2="${num(cy + cap)}"/>` +
    `<line x1="${num(x1)}" y1="${num(cy - cap)}" x2="${num(x1)}" y2="${num(cy + cap)}"/></g>`
  );
}

/** Two white slashes across a cut bar, near its end. */
function breakMark(x: number, y: number): string {
  const slash = (dx: number): string =>
    `<line x1="${num(x + dx - 4)}" y1="${num(y + BAR_HEIGHT + 2)}" x2="${num(x + dx + 4)}" y2="${num(y - 2)}"/>`;
  return `<g class="break" stroke="#ffffff" stroke-width="3">${slash(0)}${slash(7)}</g>`;
}

interface Drawn {
  svg: string[];
  height: number;
}

/** One bar with its label, whisker and value, in the row whose top is `y`. */
function rowSvg(section: SectionResult, row: RowResult, metric: Metric, scale: Scale, frame: Frame, y: number): string[] {
  const s: Summary = row.figures[metric.key]!;
  const x = (v: number): number => frame.plotX + (Math.max(0, v) / scale.max) * frame.plotWidth;
  const isCut = scale.cut.has(row.id);
  const width = isCut ? frame.plotWidth + CUT_OVERRUN : x(s.median) - frame.plotX;
  const cy = y + BAR_HEIGHT / 2;
  const value = valueText(section, row, metric);
  const out = [
    text(MARGIN + frame.labelWidth, cy + 4.5, fit(row.label, frame.labelWidth, LABEL_SIZE), { 'text-anchor': 'end', 'font-size': LABEL_SIZE, fill: INK }),
    `<rect class="bar" x="${num(frame.plotX)}" y="${num(y)}" width="${num(width)}" height="${BAR_HEIGHT}" fill="${fillOf(section, row, frame)}"` +
      `${attributes({ 'data-row': row.id, 'data-metric': metric.key, 'data-value': s.median })}>` +
      `<title>${xmlEscape(`${row.label}: ${metric.label} ${value} (median; runs ${formatNumber(s.min, metric.digits)}–${formatNumber(s.max, metric.digits)})`)}</title></rect>`,
  ];
  let end = frame.plotX + width;
  if (isCut) out.push(breakMark(frame.plotX + frame.plotWidth + CUT_OVERRUN / 2 - 3, y));
  else if (s.samples.length > 1 && s.max > s.min) {
    out.push(whisker(x(s.min), x(s.max), cy));
    end = Math.max(end, x(s.max));
  }
  out.push(text(end + 6, cy + 4.5, isCut ? `${value} (bar cut)` : value, { 'font-size': 12, fill: INK }));
  return out;
}

/** Gridlines and tick labels under a panel whose rows span `top`..`bottom`. */
function axisSvg(scale: Scale, frame: Frame, top: number, bottom: number): string[] {
  return scale.ticks.flatMap((t) => {
    const x = frame.plotX + (t / scale.max) * frame.plotWidth;
    return [
      `<line x1="${num(x)}" y1="${num(top)}" x2="${num(x)}" y2="${num(bottom)}" stroke="${GRID}" stroke-width="1"/>`,
      text(x, bottom + 13, compact(t), { 'text-anchor': 'middle', 'font-size': 11, fill: MUTED }),
    ];
  });
}

/** A dashed line at the baseline's median, for reading every other bar against it. */
function baselineLine(section: SectionResult, metric: Metric, scale: Scale, frame: Frame, top: number, bottom: number): string[] {
  const base = section.rows.find((r) => r.id === section.baseline?.id);
  if (base === undefined || scale.cut.has(base.id)) return [];
  const x = frame.plotX + (base.figures[metric.key]!.median / scale.max) * frame.plotWidth;
  return [`<line class="baseline" x1="${num(x)}" y1="${num(top)}" x2="${num(x)}" y2="${num(bottom)}" stroke="${MUTED}" stroke-width="1.2" stroke-dasharray="4 3"/>`];
}

function panelSvg(section: SectionResult, metric: Metric, runs: number, frame: Frame, y0: number): Drawn {
  const scale = panelScale(section.rows, metric.key);
  const better = metric.better === 'higher' ? 'higher is better' : 'lower is better';
  const caption = `${metric.label}: median of ${runs} run${runs === 1 ? '' : 's'}, ${better}`;
  const svg = [text(frame.plotX, y0 + 14, caption, { 'font-size': 12, 'font-weight': 'bold', fill: MUTED })];
  const top = y0 + 22;
  const bottom = top + section.rows.length * ROW_PITCH - (ROW_PITCH - BAR_HEIGHT) / 2;
  // Grid first, so the bars are drawn over it.
  svg.push(...axisSvg(scale, frame, top - 3, bottom));
  section.rows.forEach((row, i) => svg.push(...rowSvg(section, row, metric, scale, frame, top + i * ROW_PITCH)));
  svg.push(...baselineLine(section, metric, scale, frame, top - 3, bottom));
  return { svg, height: bottom + 24 - y0 };
}

/** Bold lines of `size` px from baseline `y0 + size`, wrapped to the chart's width; the height they take. */
function headingSvg(content: string, size: number, y0: number): Drawn {
  const lineHeight = Math.round(size * 1.3);
  const lines = wrap(content, WIDTH - 2 * MARGIN, size * BOLD);
  const svg = lines.map((l, i) => text(MARGIN, y0 + size + i * lineHeight, l, { 'font-size': size, 'font-weight': 'bold', fill: INK }));
  return { svg, height: size + (lines.length - 1) * lineHeight };
}

function sectionSvg(section: SectionResult, runs: number, frame: Frame, y0: number): Drawn {
  const heading = headingSvg(section.title, 15, y0 + 3);
  const svg = [...heading.svg];
  let y = y0 + heading.height + 13;
  for (const metric of chartedMetrics(section)) {
    const panel = panelSvg(section, metric, runs, frame, y);
    svg.push(...panel.svg);
    y += panel.height;
  }
  return { svg, height: y - y0 + 8 };
}

function headerSvg(report: BenchReport): Drawn {
  const heading = headingSvg(`troupe bench ${report.workload}: ${report.title}`, 18, 16);
  const details = `${machineDetails(report.machine)} · ${report.startedAt.slice(0, 10)}`;
  const baseline = report.sections.some((s) => s.baseline !== undefined) ? ' · grey bar and dashed line: the baseline' : '';
  const legend = `Bars: median over runs · whiskers: min–max of the runs${baseline}`;
  const y = 16 + heading.height;
  const svg = [
    ...heading.svg,
    text(MARGIN, y + 22, fit(machineHeadline(report.machine), WIDTH - 2 * MARGIN, 13), { 'font-size': 13, fill: INK }),
    text(MARGIN, y + 40, fit(details, WIDTH - 2 * MARGIN, 12), { 'font-size': 12, fill: MUTED }),
    text(MARGIN, y + 58, fit(legend, WIDTH - 2 * MARGIN, 12), { 'font-size': 12, fill: MUTED }),
  ];
  return { svg, height: y + 70 };
}

/** The chart of a workload's results as a standalone SVG document. */
export function renderSvg(report: BenchReport): string {
  const frame = frameFor(report);
  const header = headerSvg(report);
  const body: string[] = [...header.svg];
  let y = header.height;
  for (const section of report.sections) {
    const drawn = sectionSvg(section, report.settings.runs, frame, y);
    body.push(...drawn.svg);
    y += drawn.height;
  }
  const height = Math.ceil(y + MARGIN / 2);
  const title = `troupe bench ${report.workload}: ${report.title}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" role="img">`,
    `<title>${xmlEscape(title)}</title>`,
    // An opaque background: on a dark page, dark text on a transparent chart would vanish.
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

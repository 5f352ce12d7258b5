/**
 * `troupe list` and `troupe dlq` as a table: a header and a row per task, laid out in the given
 * width by cutting the widest cuttable column (with `…`), never wrapping a row. Without a width
 * (output to a pipe or a file, no --width, no $COLUMNS) the rows are whole.
 */
import { errorText, time, waitingText, type TaskView } from './task-view.js';

interface Column {
  head: string;
  cell: (t: TaskView) => string;
  /** The id and the state are never cut: a cut id cannot be pasted into the next command. */
  cut: boolean;
  right?: boolean;
}

const note = (t: TaskView): string => {
  if (t.state === 'cancelled') return t.cancelReason ?? '';
  if (t.state !== 'succeeded' && t.error !== undefined) return errorText(t.error);
  const w = t.waiting ?? (t.heldBy && { for: 'breaker' as const, ...t.heldBy });
  return w !== undefined && t.state !== 'running' ? `waiting for ${waitingText(w)}` : '';
};

const COLUMNS: Column[] = [
  { head: 'ID', cell: (t) => t.id, cut: false },
  { head: 'AGENT', cell: (t) => t.agent, cut: true },
  { head: 'STATE', cell: (t) => t.state, cut: false },
  { head: 'ATT', cell: (t) => String(t.attempt), cut: false, right: true },
  { head: 'SUBMITTED (UTC)', cell: (t) => time(t.submittedAt).slice(0, 19), cut: false },
  { head: 'GROUP', cell: (t) => t.group ?? '', cut: true },
  { head: 'NOTE', cell: note, cut: true },
];

const GAP = 2;
/** A cut column keeps at least this many characters. */
const MIN = 5;
/** Columns are left out (DROP) before the note is cut below this. */
const NOTE_MIN = 24;

/** `text` in `width` characters: cut with `…` when longer, padded when shorter. */
function fit(text: string, width: number, right = false): string {
  const one = text.replace(/\s+/g, ' ');
  if (one.length > width) return `${one.slice(0, Math.max(0, width - 1))}…`;
  return right ? one.padStart(width) : one.padEnd(width);
}

/** Columns left out, in this order, when the cut ones at their narrowest still do not fit. */
const DROP = ['GROUP', 'ATT', 'SUBMITTED (UTC)', 'AGENT'];

/** The column widths for `shown` in `width`: the widest cuttable column gives up one character at a time. */
function widthsIn(shown: number[], cells: string[][], width: number | undefined): { widths: Map<number, number>; excess: number } {
  const widths = new Map(shown.map((i) => [i, Math.max(COLUMNS[i]!.head.length, ...cells.map((row) => row[i]!.length))]));
  if (width === undefined) return { widths, excess: 0 };
  let excess = [...widths.values()].reduce((a, b) => a + b, 0) + GAP * (shown.length - 1) - width;
  while (excess > 0) {
    const candidates = shown.filter((i) => COLUMNS[i]!.cut && widths.get(i)! > MIN);
    if (candidates.length === 0) break;
    const widest = candidates.reduce((a, b) => (widths.get(b)! > widths.get(a)! ? b : a));
    widths.set(widest, widths.get(widest)! - 1);
    excess -= 1;
  }
  return { widths, excess };
}

/**
 * The table's lines (no trailing spaces); columns empty in every row are left out, and in a narrow
 * width the least useful ones (DROP) too, rather than cutting the id or the note to nothing.
 */
export function taskTable(tasks: readonly TaskView[], width?: number): string[] {
  const cells = tasks.map((t) => COLUMNS.map((c) => c.cell(t).replace(/\s+/g, ' ')));
  let shown = COLUMNS.map((_, i) => i).filter((i) => i < 5 || cells.some((row) => row[i] !== ''));
  const note = COLUMNS.length - 1;
  const noteWants = Math.min(NOTE_MIN, Math.max(0, ...cells.map((row) => row[note]!.length)));
  let { widths, excess } = widthsIn(shown, cells, width);
  // The note (the error, what the task waits for) is why one reads the table: it keeps NOTE_MIN characters if it can.
  const cramped = (): boolean => excess > 0 || (widths.get(note) ?? noteWants) < noteWants;
  for (const head of DROP) {
    if (!cramped()) break;
    shown = shown.filter((i) => COLUMNS[i]!.head !== head);
    ({ widths, excess } = widthsIn(shown, cells, width));
  }
  const row = (values: string[]): string => shown.map((i) => fit(values[i]!, widths.get(i)!, COLUMNS[i]!.right)).join(' '.repeat(GAP)).trimEnd();
  const lines = [row(COLUMNS.map((c) => c.head)), ...cells.map(row)];
  // Past every cut (a very narrow terminal), the line itself is cut: a row never wraps.
  return width === undefined ? lines : lines.map((l) => (l.length > width ? `${l.slice(0, Math.max(0, width - 1))}…` : l));
}

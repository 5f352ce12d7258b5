// The human summary of a plan, as `troupe plan` prints it.
import type { ImportPlan } from '../index.js';

/** Longest list of names shown before `… and N more`. */
const SHOWN = 10;

const list = (names: readonly string[], sep: string): string =>
  names.length <= SHOWN ? names.join(sep) : `${names.slice(0, SHOWN).join(sep)}${sep}… and ${names.length - SHOWN} more`;

/** Counts, cycles, the width of each level and the critical path. */
export function formatPlan(plan: ImportPlan): string {
  const lines = [
    `${plan.root}: ${plan.files.length} files, ${plan.edges.length} imports between them (${plan.ignored} others ignored: packages, standard library, unresolved)`,
    `cycles: ${plan.cycles.length}`,
    ...plan.cycles.map((c) => `  ${list(c, ' ⇄ ')}`),
    `tasks: ${plan.tasks.length} in ${plan.levels.length} levels`,
    ...plan.levels.map((names, i) => `  level ${i}: ${names.length} task${names.length === 1 ? '' : 's'}`),
    `critical path (${plan.criticalPath.length}): ${plan.criticalPath.join(' → ')}`,
  ];
  return lines.join('\n');
}

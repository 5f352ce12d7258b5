/**
 * `troupe plan <dir> --agent NAME`: the import graph of a tree as a task graph; `--submit` sends it to
 * the running daemon. Exit status: 0 done, 1 the plan or the submission failed, 2 bad usage, 3 no daemon.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { callDaemon } from '../daemon/index.js';
import { stateDir } from '../daemon/index.js';
import { TroupeError } from '../index.js';
import { planImports } from '../index.js';
import { formatPlan } from './report.js';

const USAGE = `Usage: troupe plan <dir> --agent NAME [--json] [--exclude-types] [--tsconfig FILE] [--submit [--socket PATH]]

Plans one task per Python/JavaScript/TypeScript file of <dir> (one per import cycle) for agent NAME,
each depending on the tasks of the files it imports; prints counts, cycles, levels and the critical path.

Options:
  --agent NAME       the agent of every task (required)
  --json             print the plan as JSON
  --exclude-types    leave out TypeScript type-only imports
  --tsconfig FILE    the tree's TypeScript config, relative to <dir> (default tsconfig.json, then jsconfig.json)
  --submit           submit the tasks to the running daemon as one graph (POST /v1/graphs)
  --socket PATH      the daemon's socket (default $TROUPE_SOCKET or <state dir>/troupe.sock)
  -h, --help         show this help`;

const OPTIONS = {
  agent: { type: 'string' },
  json: { type: 'boolean' },
  'exclude-types': { type: 'boolean' },
  tsconfig: { type: 'string' },
  submit: { type: 'boolean' },
  socket: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Print = (text: string) => void;
const print = (stream: NodeJS.WriteStream): Print => (text) => void stream.write(`${text}\n`);

/** Runs `troupe plan`; returns its exit status. */
export async function runPlanCli(argv: string[], out: Print = print(process.stdout), err: Print = print(process.stderr)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (e) {
    return err(`troupe plan: ${(e as Error).message}\n\n${USAGE}`), 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help === true) return out(USAGE), 0;
  if (positionals.length !== 1 || v.agent === undefined) return err(`troupe plan: a directory and --agent are required\n\n${USAGE}`), 2;
  let plan;
  try {
    plan = await planImports(positionals[0]!, { agent: v.agent, typeImports: v['exclude-types'] !== true, ...(v.tsconfig !== undefined && { tsconfig: v.tsconfig }) });
  } catch (e) {
    if (!(e instanceof TroupeError)) throw e;
    return err(`troupe plan: ${e.code}: ${e.message}`), 2;
  }
  if (v.submit !== true) return out(v.json === true ? JSON.stringify(plan) : formatPlan(plan)), 0;
  const submitted = await submit(plan.tasks, v.socket);
  if (typeof submitted === 'number') return submitted;
  // With --json, one object: the plan and the ids of its tasks, by name.
  out(v.json === true ? JSON.stringify({ ...plan, ids: submitted }) : `${formatPlan(plan)}\nsubmitted: ${Object.keys(submitted).length} tasks`);
  return 0;

  /** The ids by task name, or the exit status of a failure (reported). */
  async function submit(tasks: unknown[], socketFlag: string | undefined): Promise<Record<string, string> | number> {
    const socket = socketFlag ?? process.env.TROUPE_SOCKET ?? join(stateDir(process.env), 'troupe.sock');
    let res;
    try {
      res = await callDaemon({ socket }, 'POST', '/v1/graphs', { tasks });
    } catch (e) {
      return err(`troupe plan: cannot reach the daemon at ${socket}: ${(e as Error).message}`), 3;
    }
    const body = res.body as { ids?: Record<string, string>; error?: { code: string; message: string } };
    if (res.status >= 400 || body.ids === undefined) return err(`troupe plan: ${body.error?.code ?? res.status}: ${body.error?.message ?? 'request failed'}`), 1;
    return body.ids;
  }
}

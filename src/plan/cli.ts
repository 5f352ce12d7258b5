/**
 * `troupe plan <dir> --agent NAME`: the import graph of a tree as a task graph; `--submit` sends it to
 * the running daemon. Exit status (EXIT): 0 done, 1 the submission was refused, 2 bad usage or a
 * tree that cannot be planned, 4 no daemon.
 */
import { join } from 'node:path';
import { callDaemon, EXIT, program, runProgram, socketFlag, type Outcome } from '../daemon/index.js';
import { stateDir } from '../daemon/index.js';
import { TroupeError } from '../index.js';
import { planImports } from '../index.js';
import { formatPlan } from './report.js';

const ABOUT = `
Plans one task per Python/JavaScript/TypeScript file of <dir> (one per import cycle) for agent NAME,
each depending on the tasks of the files it imports; prints counts, cycles, levels and the critical path.

Exit status: 0 done, 1 the daemon refused the graph, 2 bad usage or a tree it cannot plan, 4 no daemon.`;

type Flags = { agent: string; json?: boolean; excludeTypes?: boolean; tsconfig?: string; submit?: boolean; socket?: string };

type Print = (text: string) => void;
const print = (stream: NodeJS.WriteStream): Print => (text) => void stream.write(`${text}\n`);

/** Runs `troupe plan`; returns its exit status. */
export async function runPlanCli(argv: string[], out: Print = print(process.stdout), err: Print = print(process.stderr)): Promise<number> {
  const outcome: Outcome = { code: EXIT.OK };
  const cmd = socketFlag(program('troupe plan'))
    .description('The import graph of a tree as a task graph: a task per source file, depending on the files it imports.')
    .usage('<dir> --agent NAME [--json] [--exclude-types] [--tsconfig FILE] [--submit [--socket PATH]]')
    .argument('<dir>', 'the tree')
    .requiredOption('--agent <name>', 'the agent of every task')
    .option('--json', 'print the plan as JSON')
    .option('--exclude-types', 'leave out TypeScript type-only imports')
    .option('--tsconfig <file>', "the tree's TypeScript config, relative to <dir> (default tsconfig.json, then jsconfig.json)")
    .option('--submit', 'submit the tasks to the running daemon as one graph (POST /v1/graphs)')
    .addHelpText('after', ABOUT)
    .action(async (dir: string, v: Flags) => {
      outcome.code = await plan(dir, v, out, err);
    });
  return runProgram(cmd, argv, outcome);
}

async function plan(dir: string, v: Flags, out: Print, err: Print): Promise<number> {
  let planned;
  try {
    planned = await planImports(dir, { agent: v.agent, typeImports: v.excludeTypes !== true, ...(v.tsconfig !== undefined && { tsconfig: v.tsconfig }) });
  } catch (e) {
    if (!(e instanceof TroupeError)) throw e;
    return err(`troupe plan: ${e.code}: ${e.message}`), EXIT.USAGE;
  }
  if (v.submit !== true) return out(v.json === true ? JSON.stringify(planned) : formatPlan(planned)), EXIT.OK;
  const submitted = await submit(planned.tasks, v.socket);
  if (typeof submitted === 'number') return submitted;
  // With --json, one object: the plan and the ids of its tasks, by name.
  out(v.json === true ? JSON.stringify({ ...planned, ids: submitted }) : `${formatPlan(planned)}\nsubmitted: ${Object.keys(submitted).length} tasks`);
  return EXIT.OK;

  /** The ids by task name, or the exit status of a failure (reported). */
  async function submit(tasks: unknown[], socketFlag: string | undefined): Promise<Record<string, string> | number> {
    const socket = socketFlag ?? process.env.TROUPE_SOCKET ?? join(stateDir(process.env), 'troupe.sock');
    let res;
    try {
      res = await callDaemon({ socket }, 'POST', '/v1/graphs', { tasks });
    } catch (e) {
      return err(`troupe plan: cannot reach the daemon at ${socket}: ${(e as Error).message}`), EXIT.UNREACHABLE;
    }
    const body = res.body as { ids?: Record<string, string>; error?: { code: string; message: string } };
    if (res.status >= 400 || body.ids === undefined) return err(`troupe plan: ${body.error?.code ?? res.status}: ${body.error?.message ?? 'request failed'}`), EXIT.FAILED;
    return body.ids;
  }
}

/**
 * The CLI commands that talk to a running daemon through its socket: submit, status, list, wait,
 * cancel, dlq, breakers, top, tree, distribute, logs. Human output by default, `--json` for
 * scripts; the exit statuses are EXIT's (exit-codes.ts). Parsing and help are commander's
 * (cli-kit.ts); each command's action is in this file or, for the larger ones, beside it.
 */
import { Command, Option } from 'commander';
import { PRIORITIES, STRATEGIES, type TaskState } from '../index.js';
import { CliExit, collect, configure, intFlag, jsonFlag, msFlag, outputWidth, program, runProgram, socketFlag, timeFlag, usage, type Outcome } from './cli-kit.js';
import type { Endpoint } from './client.js';
import { call, outcomeCode, query, stream, waitFor } from './client-call.js';
import { clientSocket } from './config.js';
import { EXIT, EXIT_HELP } from './exit-codes.js';
import { startProgress } from './progress.js';
import { taskTable } from './task-table.js';
import { headLine, statusLines, type TaskView } from './task-view.js';
import { runTop } from './top.js';

export const CLIENT_COMMANDS = ['submit', 'status', 'list', 'wait', 'cancel', 'dlq', 'breakers', 'top', 'tree', 'distribute', 'logs'] as const;
type Name = (typeof CLIENT_COMMANDS)[number];

const STATES = ['blocked', 'queued', 'delayed', 'running', 'succeeded', 'dead', 'cancelled'] as const satisfies readonly TaskState[];
/** Most tasks one `list` answers (the daemon's limit too). */
const MAX_LIMIT = 1000;

/** What every action gets: where the daemon is, and how to print. */
interface Ctx {
  endpoint: Endpoint;
  json: boolean;
  /** Prints `data` as JSON with --json, else the human text. */
  show(data: unknown, human: () => string): void;
}

type Opts = Record<string, unknown>;

const states = (raw: string): TaskState[] => {
  const list = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = list.filter((s) => !(STATES as readonly string[]).includes(s));
  if (list.length === 0 || bad.length > 0) throw usage(`--state must be one or more of ${STATES.join(', ')}, comma-separated (got ${JSON.stringify(raw)})`);
  return list as TaskState[];
};
const limitFlag = intFlag('--limit', 1, MAX_LIMIT);
const widthFlag = intFlag('--width', 20, 10_000, 'a number of columns');
const id = (s: string): string => encodeURIComponent(s);

async function submit(agent: string, o: Opts, { endpoint, show }: Ctx): Promise<number> {
  const resources = o.resource as string[] | undefined;
  const body = {
    agent, input: o.input, ...(o.priority !== undefined && { priority: o.priority }), ...(resources && { resources }), ...(o.group !== undefined && { group: o.group }),
    ...(o.key !== undefined && { key: o.key }), ...(o.parent !== undefined && { parentId: o.parent }), ...(o.childKey !== undefined && { childKey: o.childKey }),
  };
  const { id: taskId } = (await call(endpoint, 'POST', '/v1/tasks', body)).body as { id: string };
  if (o.wait !== true) return show({ id: taskId }, () => taskId), EXIT.OK;
  const result = await waitFor(endpoint, taskId, (o.timeout as number | undefined) ?? Infinity);
  show(result, () => (result.state === 'succeeded' ? JSON.stringify(result.result) : result.done === true ? `${taskId} ${String(result.state)}: ${String(result.error)}` : `${taskId} still ${String(result.state)} (--timeout ran out)`));
  return outcomeCode(result);
}

async function status(taskId: string, o: Opts, { endpoint, show }: Ctx): Promise<number> {
  const task = (await call(endpoint, 'GET', `/v1/tasks/${id(taskId)}${o.input === true ? '?include=input' : ''}`)).body as TaskView;
  return show(task, () => statusLines(task).join('\n')), EXIT.OK;
}

async function list(o: Opts, { endpoint, show }: Ctx): Promise<number> {
  const q = query({
    state: (o.state as string[] | undefined)?.join(','), agent: o.agent as string, group: o.group as string, search: o.search as string,
    since: o.since as number, until: o.until as number, newest: o.newest === true, limit: o.limit as number, after: o.after as string,
  });
  const { tasks } = (await call(endpoint, 'GET', `/v1/tasks${q.size > 0 ? `?${q}` : ''}`)).body as { tasks: TaskView[] };
  return show(tasks, () => (tasks.length === 0 ? '(no tasks)' : taskTable(tasks, outputWidth(o.width as number | undefined)).join('\n'))), EXIT.OK;
}

async function wait(ids: string[], o: Opts, { endpoint, show, json }: Ctx): Promise<number> {
  // One deadline for all: the tasks are waited for side by side, whatever their order.
  const deadline = Date.now() + ((o.timeout as number | undefined) ?? Infinity);
  // A bar on stderr for several tasks, on a terminal only (a no-op otherwise, and with --json).
  const bar = ids.length > 1 && !json ? startProgress(ids.length, process.stderr, 'waiting') : undefined;
  // While the bar draws, the lines wait for it to end: on the same terminal they would break it up.
  const held: (() => void)[] = [];
  const codes: number[] = [];
  try {
    for (const [i, taskId] of ids.entries()) {
      const result = await waitFor(endpoint, taskId, Math.max(0, deadline - Date.now()));
      codes.push(outcomeCode(result));
      const failed = codes.filter((c) => c === EXIT.FAILED).length;
      bar?.update(i + 1, `${codes.filter((c) => c === EXIT.OK).length} succeeded, ${failed} failed`);
      const report = (): void => show(result, () => `[${i + 1}/${ids.length}] ${taskId} ${String(result.state)}${result.done === true ? '' : ' (still under way: --timeout ran out)'}`);
      if (bar?.active === true) held.push(report);
      else report();
    }
  } finally {
    bar?.stop();
    for (const report of held) report();
  }
  // A failure is definite, a timeout is not: a failure decides the status first.
  return codes.includes(EXIT.FAILED) ? EXIT.FAILED : codes.includes(EXIT.TIMED_OUT) ? EXIT.TIMED_OUT : EXIT.OK;
}
async function cancel(taskId: string, o: Opts, { endpoint, show }: Ctx): Promise<number> {
  const body = (await call(endpoint, 'POST', `/v1/tasks/${id(taskId)}/cancel`, o.reason === undefined ? undefined : { reason: o.reason })).body as { cancelled: boolean };
  return show(body, () => (body.cancelled ? 'cancelled' : 'already finished')), body.cancelled ? EXIT.OK : EXIT.FAILED;
}

async function dlq(o: Opts, { endpoint, show }: Ctx): Promise<number> {
  const { tasks } = (await call(endpoint, 'GET', `/v1/dead-letters?${query({ agent: o.agent as string, limit: o.limit as number })}`)).body as { tasks: TaskView[] };
  return show(tasks, () => (tasks.length === 0 ? '(no dead letters)' : taskTable(tasks, outputWidth(o.width as number | undefined)).join('\n'))), EXIT.OK;
}

async function redrive(ids: string[], o: Opts, { endpoint, show }: Ctx): Promise<number> {
  const body = (await call(endpoint, 'POST', '/v1/dead-letters/redrive', { ids, ...(o.input !== undefined && { input: o.input }) })).body as { ids: string[] };
  return show(body, () => `redriven: ${body.ids.join(' ')}`), EXIT.OK;
}

async function breakers({ endpoint, show }: Ctx): Promise<number> {
  const { breakers: all } = (await call(endpoint, 'GET', '/v1/breakers')).body as { breakers: Record<string, { state: string; forced: boolean }> };
  return show(all, () => Object.entries(all).map(([k, b]) => `${k.padEnd(24)} ${b.state}${b.forced ? ' (forced)' : ''}`).join('\n') || '(no breakers)'), EXIT.OK;
}

async function force(key: string, state: 'open' | 'closed', { endpoint, show }: Ctx): Promise<number> {
  const body = (await call(endpoint, 'PUT', `/v1/breakers/${encodeURIComponent(key)}`, { state })).body;
  return show(body, () => `${key} ${state}`), EXIT.OK;
}

type Tree = { task: TaskView; children: Tree[]; truncated?: number };

/** One line per task, indented by depth: `id agent state attempt N (children: 2 running, 1 queued)`. */
function treeLines(node: Tree, depth = 0): string[] {
  const counts = Object.entries(node.task.children ?? {}).map(([s, n]) => `${n} ${s}`).join(', ');
  const error = node.task.state !== 'succeeded' && node.task.error ? `  ${node.task.error.message}` : '';
  const own = `${'  '.repeat(depth)}${headLine(node.task)}${error}${counts ? `  (children: ${counts})` : ''}`;
  const cut = node.truncated === undefined ? [] : [`${'  '.repeat(depth + 1)}… ${node.truncated} more not shown`];
  return [own, ...node.children.flatMap((c) => treeLines(c, depth + 1)), ...cut];
}

async function tree(taskId: string, { endpoint, show }: Ctx): Promise<number> {
  const body = (await call(endpoint, 'GET', `/v1/tasks/${id(taskId)}/tree`)).body as Tree;
  return show(body, () => treeLines(body).join('\n')), EXIT.OK;
}

async function distribute(o: Opts, { endpoint, show }: Ctx): Promise<number> {
  const managers = (o.managers as string).split(',').filter((m) => m !== '');
  const body = { tasks: o.tasks, managers, ...(o.strategy !== undefined && { strategy: o.strategy }), ...(o.hashField !== undefined && { hashField: o.hashField }) };
  const out = (await call(endpoint, 'POST', '/v1/distribute', body)).body as { ids: string[]; bindings: Record<string, string | null> };
  return show(out, () => out.ids.map((i) => `${i}  ${out.bindings[i] ?? '(bound at dispatch)'}`).join('\n')), EXIT.OK;
}

type Line = { attempt: number; stream: string; at: number; line: string };

/** Prints the task's lines as they come: `stream  line` (a terminal's bare), each attempt under a header when there are several. */
async function logs(taskId: string, o: Opts, { endpoint, show, json }: Ctx): Promise<number> {
  const q = query({ follow: o.follow === true, attempt: o.attempt as number, raw: o.raw === true });
  let attempt: number | undefined;
  const onLine = (value: unknown): void => {
    const l = value as Line;
    const header = !json && o.attempt === undefined && attempt !== l.attempt && (attempt !== undefined || l.attempt > 1);
    attempt = l.attempt;
    // A terminal's lines are its one stream: printed bare, so that --raw replays them as the terminal showed them.
    show(l, () => `${header ? `--- attempt ${l.attempt}\n` : ''}${l.stream === 'tty' ? '' : `${l.stream.padEnd(6)} `}${l.line}`);
  };
  await stream(endpoint, `/v1/tasks/${id(taskId)}/logs${q.size > 0 ? `?${q}` : ''}`, onLine);
  return EXIT.OK;
}

/** An action: runs `fn` with the context and the options of `cmd` (the command commander ran). */
type Act = (cmd: Command, fn: (ctx: Ctx, o: Opts) => Promise<number>) => Promise<void>;

/** The command `name`, with its arguments, options and action. Commander passes an action its arguments, its options, then itself. */
function define(name: Name, act: Act): Command {
  const cmd = program(`troupe ${name}`);
  const sub = (n: string): Command => withCommon(configure(new Command(n).helpCommand(false), `troupe ${name} ${n}`));
  const self = (a: unknown[]): Command => a.at(-1) as Command;
  switch (name) {
    case 'submit':
      return cmd.description('Submits a task to an agent; prints its id (--wait: its result).').argument('<agent>', 'the agent to run it')
        .option('--input <json>', 'the task\'s input, as JSON', jsonFlag('--input')).addOption(new Option('--priority <p>', 'its priority').choices(PRIORITIES))
        .option('--resource <name>', 'a resource it holds while it runs (repeatable)', collect).option('--group <g>', 'its fairness group (a tenant, say)')
        .option('--key <k>', 'idempotency key: the same key gets the same task').option('--parent <id>', 'submit it as a child of this running task')
        .option('--child-key <k>', 'its key among its parent\'s children').option('--wait', 'wait for its outcome; exit 1 if it failed')
        .option('--timeout <ms>', 'with --wait: give up waiting after this long (exit 3)', msFlag('--timeout'))
        .addHelpText('after', '\nInside a command agent, TROUPE_TASK_TOKEN makes the task a child of the running one.')
        .action((agent: string, ...a: unknown[]) => act(self(a), (ctx, o) => submit(agent, o, ctx)));
    case 'status':
      return cmd.description('Everything the daemon knows of a task: state, times, attempts, result or error, and what it waits for.').argument('<id>', 'the task')
        .option('--input', 'show its input too').action((taskId: string, ...a: unknown[]) => act(self(a), (ctx, o) => status(taskId, o, ctx)));
    case 'list':
      return cmd.description('Tasks, oldest first (--newest: newest first), filtered; a table sized to the terminal.')
        .option('--state <s[,s...]>', `only in these states (${STATES.join(', ')})`, states).option('--agent <a>', 'only of this agent').option('--group <g>', 'only of this group')
        .option('--search <text>', 'only those whose id, key, name, agent, group, input or error contains it (any case)')
        .option('--since <time>', 'submitted at or after: an ISO date or a time ago (10m, 2h, 1d)', timeFlag('--since')).option('--until <time>', 'submitted before (as --since)', timeFlag('--until'))
        .option('--newest', 'newest first').option('--limit <n>', `at most n tasks, 1 to ${MAX_LIMIT} (default 100)`, limitFlag).option('--after <id>', 'the page after this task (in the same order)')
        .option('--width <columns>', 'lay the table out in this width (default: the terminal\'s, or $COLUMNS)', widthFlag)
        .action((...a: unknown[]) => act(self(a), (ctx, o) => list(o, ctx)));
    case 'wait':
      return cmd.description('Waits for tasks to end. Exit 0 all succeeded, 1 one failed, 3 --timeout ran out first.').argument('<id...>', 'the tasks')
        .option('--timeout <ms>', 'give up after this long (default: wait as long as it takes)', msFlag('--timeout')).action((ids: string[], ...a: unknown[]) => act(self(a), (ctx, o) => wait(ids, o, ctx)));
    case 'cancel':
      return cmd.description('Cancels a task (and its subtree). Exit 1 if it had already ended.').argument('<id>', 'the task').option('--reason <text>', 'why (kept with the task)')
        .action((taskId: string, ...a: unknown[]) => act(self(a), (ctx, o) => cancel(taskId, o, ctx)));
    case 'dlq': {
      cmd.description('Dead letters: tasks that failed for good. `troupe dlq redrive <id>...` runs them again.').option('--agent <a>', 'only of this agent')
        .option('--limit <n>', `at most n, 1 to ${MAX_LIMIT}`, limitFlag).option('--width <columns>', 'lay the table out in this width', widthFlag)
        .usage('[options] [command]').argument('[command...]').action((verb: string[], ...a: unknown[]) => (verb.length === 0 ? act(self(a), (ctx, o) => dlq(o, ctx)) : unknownCommand(self(a))));
      cmd.addCommand(sub('redrive').description('Runs dead letters again, from attempt 1.').argument('<id...>', 'the dead tasks').option('--input <json>', 'new input for them', jsonFlag('--input'))
        .action((ids: string[], ...a: unknown[]) => act(self(a), (ctx, o) => redrive(ids, o, ctx))));
      return cmd;
    }
    case 'breakers':
      cmd.description('The circuit breakers and their states; `open <key>` / `close <key>` force one.').usage('[options] [command]').argument('[command...]')
        .action((verb: string[], ...a: unknown[]) => (verb.length === 0 ? act(self(a), (ctx) => breakers(ctx)) : unknownCommand(self(a))));
      for (const [verb, state] of [['open', 'open'], ['close', 'closed']] as const) {
        cmd.addCommand(sub(verb).description(`Forces a breaker ${state} (an agent's name or agent:<name>, resource:<name>).`).argument('<key>', 'the breaker')
          .action((key: string, ...a: unknown[]) => act(self(a), (ctx) => force(key, state, ctx))));
      }
      return cmd;
    case 'top':
      return cmd.description('A live view of the daemon: queue, running, throughput, latency, threads, breakers, alerts; q or Ctrl-C quits.')
        .option('--interval <ms>', 'time between polls (default 1000)', msFlag('--interval', 10)).option('--once', 'print one frame and exit')
        .option('--width <columns>', 'with --once off a terminal: the width of the frame (default $COLUMNS, else whole lines)', widthFlag)
        .action((...a: unknown[]) => act(self(a), (ctx, o) => runTop({ ...ctx, interval: o.interval as number | undefined, once: o.once === true, width: o.width as number | undefined })));
    case 'tree':
      return cmd.description('A task and every task under it, indented, with child counts.').argument('<id>', 'the task').action((taskId: string, ...a: unknown[]) => act(self(a), (ctx) => tree(taskId, ctx)));
    case 'distribute':
      return cmd.description('Submits tasks bound to manager tasks (distribute()).').requiredOption('--tasks <json>', 'the tasks, a JSON array of submissions', jsonFlag('--tasks'))
        .requiredOption('--managers <ids>', 'the manager tasks, comma-separated').addOption(new Option('--strategy <s>', 'how they are bound (default at-dispatch)').choices(STRATEGIES)).option('--hash-field <f>', 'with consistent-hash: the input field hashed')
        .action((...a: unknown[]) => act(self(a), (ctx, o) => distribute(o, ctx)));
    case 'logs':
      return cmd.description('A task\'s kept output: stdout, stderr, tty and ctx.log lines, `stream  line`.').argument('<id>', 'the task')
        .option('-f, --follow', 'go on with new lines until the task ends').option('--attempt <n>', 'only this attempt\'s', intFlag('--attempt', 1))
        .option('--raw', 'tty lines with their escapes').action((taskId: string, ...a: unknown[]) => act(self(a), (ctx, o) => logs(taskId, o, ctx)));
  }
}

/**
 * `troupe breakers opne k`: the word is not one of the command's subcommands. Commander's own
 * report of that ("unknown command 'opne'", with "did you mean open?"), which it makes only for a
 * command without an action of its own (these list when given no word).
 */
function unknownCommand(cmd: Command): never {
  (cmd as unknown as { unknownCommand(): never }).unknownCommand();
  throw usage(`unknown command '${cmd.args[0]}'`);
}

function withCommon(cmd: Command): Command {
  return socketFlag(cmd).option('--json', 'print JSON').addHelpText('after', `\n${EXIT_HELP}`);
}

/** Runs one client command with the arguments after its name; resolves with its exit status. */
export async function runClientCommand(name: Name, argv: string[]): Promise<number> {
  const outcome: Outcome = { code: EXIT.OK };
  const act: Act = async (leaf, fn) => {
    const o = leaf.optsWithGlobals();
    const socket = (o.socket as string | undefined) ?? clientSocket(process.env);
    const taskToken = process.env.TROUPE_TASK_TOKEN;
    const endpoint: Endpoint = taskToken === undefined || taskToken === '' ? { socket } : { socket, taskToken };
    const json = o.json === true;
    const show = (data: unknown, human: () => string): void => void process.stdout.write(`${json ? JSON.stringify(data) : human()}\n`);
    try {
      outcome.code = await fn({ endpoint, json, show }, o);
    } catch (err) {
      // Where the socket's path came from, so that the user knows what to change.
      if (!(err instanceof CliExit) || err.code !== EXIT.UNREACHABLE || o.socket !== undefined) throw err;
      const from = process.env.TROUPE_SOCKET ? 'the path comes from TROUPE_SOCKET (--socket overrides it)' : 'the path is the default (TROUPE_SOCKET or --socket gives another)';
      throw new CliExit(err.code, `${err.message}; ${from}`);
    }
  };
  return runProgram(withCommon(define(name, act)), argv, outcome);
}


/**
 * The CLI commands that talk to a running daemon through its socket: submit, status, list, wait,
 * cancel, dlq, breakers. Human output by default, `--json` for scripts. Exit status: 0 done, 1 the
 * operation failed (a task failed, an unknown id, a refused request), 2 bad usage, 3 no daemon.
 */
import { parseArgs } from 'node:util';
import { callDaemon, streamDaemon, type Endpoint, type Response } from './client.js';
import { clientSocket } from './config.js';
import { runTop, TopError } from './top.js';
import { startProgress } from './progress.js';

export const CLIENT_COMMANDS = ['submit', 'status', 'list', 'wait', 'cancel', 'dlq', 'breakers', 'top', 'tree', 'distribute', 'logs'] as const;
type Command = (typeof CLIENT_COMMANDS)[number];

const USAGE: Record<Command, string> = {
  submit: 'troupe submit <agent> [--input JSON] [--priority P] [--resource R]... [--group G] [--key K] [--parent ID] [--child-key K] [--wait]\n' +
    '  (inside a command agent, TROUPE_TASK_TOKEN makes the task a child of the running one)',
  status: 'troupe status <id>',
  list: 'troupe list [--state S] [--agent A] [--group G] [--limit N] [--after ID]',
  wait: 'troupe wait <id>... [--timeout MS]',
  cancel: 'troupe cancel <id>',
  dlq: 'troupe dlq [--agent A] [--limit N] | troupe dlq redrive <id>... [--input JSON]',
  breakers: 'troupe breakers | troupe breakers open|close <key>',
  top: 'troupe top [--interval MS] [--once]',
  tree: 'troupe tree <id>   (the task and every task under it)',
  logs: 'troupe logs <id> [-f|--follow] [--attempt N] [--raw]   (stdout, stderr, tty and ctx.log lines; -f: until the task ends; --raw: tty lines with their escapes)',
  distribute: 'troupe distribute --tasks JSON --managers ID[,ID...] [--strategy at-dispatch|round-robin|least-loaded|capacity-aware|consistent-hash] [--hash-field F]',
};
const COMMON = 'Options: --socket PATH (default $TROUPE_SOCKET or <state dir>/troupe.sock), --json, -h/--help';

const OPTIONS = {
  socket: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  input: { type: 'string' },
  priority: { type: 'string' },
  resource: { type: 'string', multiple: true },
  key: { type: 'string' },
  parent: { type: 'string' },
  tasks: { type: 'string' },
  managers: { type: 'string' },
  strategy: { type: 'string' },
  'hash-field': { type: 'string' },
  'child-key': { type: 'string' },
  group: { type: 'string' },
  wait: { type: 'boolean' },
  state: { type: 'string' },
  agent: { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
  timeout: { type: 'string' },
  interval: { type: 'string' },
  once: { type: 'boolean' },
  follow: { type: 'boolean', short: 'f' },
  attempt: { type: 'string' },
  raw: { type: 'boolean' },
} as const;

class Exit extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
}

function json(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new Exit(2, `${flag} must be JSON (got ${text})`);
  }
}

async function call(endpoint: Endpoint, method: string, path: string, body?: unknown): Promise<Response> {
  let res: Response;
  try {
    res = await callDaemon(endpoint, method, path, body);
  } catch (err) {
    throw new Exit(3, `cannot reach the daemon at ${'socket' in endpoint ? endpoint.socket : endpoint.url}: ${(err as Error).message}`);
  }
  if (res.status >= 400) {
    const error = (res.body as { error?: { code?: string; message?: string } }).error;
    throw new Exit(res.status === 400 ? 2 : 1, `${error?.code ?? res.status}: ${error?.message ?? 'request failed'}`);
  }
  return res;
}

type Hold = { breaker: string; state: string; halfOpenAt: number | null };
type Task = { id: string; agent: string; state: string; attempt: number; error?: { message: string }; heldBy?: Hold };
const line = (t: Task): string =>
  `${t.id}  ${t.agent.padEnd(12)} ${t.state.padEnd(9)} attempt ${t.attempt}${t.error ? `  ${t.error.message}` : ''}${t.heldBy ? `  ${held(t.heldBy)}` : ''}`;

/** Why a queued task does not run: `held by breaker agent:hash (open, trials from <time>)`. */
function held(h: Hold): string {
  const why = h.state === 'half-open' ? 'half-open, its trial slots are full' : h.halfOpenAt === null ? 'open' : `open, trials from ${new Date(h.halfOpenAt).toISOString()}`;
  return `held by breaker ${h.breaker} (${why})`;
}

/** Waits for one task's outcome with long polls of up to 30 s; resolves with the final answer. */
async function waitFor(endpoint: Endpoint, id: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waitMs = Math.max(0, Math.min(30_000, deadline - Date.now()));
    const body = (await call(endpoint, 'GET', `/v1/tasks/${encodeURIComponent(id)}/result?waitMs=${waitMs}`)).body as Record<string, unknown>;
    if (body.done === true || Date.now() >= deadline) return body;
  }
}

interface Ctx {
  args: string[];
  v: Values;
  endpoint: Endpoint;
  /** Prints `data` as JSON with --json, else the human text. */
  show(data: unknown, human: () => string): void;
}

const query = (params: Record<string, string | undefined>): URLSearchParams =>
  new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));

async function submit({ args, v, endpoint, show }: Ctx): Promise<number> {
  if (args.length !== 1) throw new Exit(2, `usage: ${USAGE.submit}`);
  const body = {
    agent: args[0], input: json(v.input, '--input'), ...(v.priority && { priority: v.priority }), ...(v.resource && { resources: v.resource }),
    ...(v.group && { group: v.group }), ...(v.key && { key: v.key }), ...(v.parent && { parentId: v.parent }), ...(v['child-key'] && { childKey: v['child-key'] }),
  };
  const { id } = (await call(endpoint, 'POST', '/v1/tasks', body)).body as { id: string };
  if (v.wait !== true) return show({ id }, () => id), 0;
  const result = await waitFor(endpoint, id, Infinity);
  show(result, () => (result.state === 'succeeded' ? JSON.stringify(result.result) : `${id} ${String(result.state)}: ${String(result.error)}`));
  return result.state === 'succeeded' ? 0 : 1;
}

async function status({ args, endpoint, show }: Ctx): Promise<number> {
  if (args.length !== 1) throw new Exit(2, `usage: ${USAGE.status}`);
  const task = (await call(endpoint, 'GET', `/v1/tasks/${encodeURIComponent(args[0]!)}`)).body as Task & Workspaced;
  return show(task, () => [line(task), ...workspaceLines(task)].join('\n')), 0;
}

type Workspaced = {
  workspace?: { path: string; branch: string; base: string; head?: string; changedFiles?: string[]; state: string; merged?: { into: string; commit: string } };
  waiting?: { for: 'worktrees'; repo: string; limit: number; inUse: number } | { for: 'disk'; repo: string; maxDiskMb: number; usedMb: number };
};

/** `status` lines for a task's worktree and what holds it back: `workspace <path> (branch …, base …)`, `waiting for …`. */
function workspaceLines({ workspace: ws, waiting: w }: Workspaced): string[] {
  const out: string[] = [];
  if (ws !== undefined) {
    const facts = [`branch ${ws.branch}`, `base ${ws.base.slice(0, 12)}`, ws.head && `head ${ws.head.slice(0, 12)}`, ws.changedFiles && `${ws.changedFiles.length} changed files`, ws.merged && `merged into ${ws.merged.into}`, ws.state === 'removed' && 'worktree removed'];
    out.push(`  workspace ${ws.path} (${facts.filter(Boolean).join(', ')})`);
  }
  if (w?.for === 'worktrees') out.push(`  waiting for a worktree of ${w.repo}: ${w.inUse} of maxWorktrees ${w.limit} in use`);
  if (w?.for === 'disk') out.push(`  waiting for disk: the worktrees of ${w.repo} take ${w.usedMb} MB of maxDiskMb ${w.maxDiskMb}`);
  return out;
}

async function list({ v, endpoint, show }: Ctx): Promise<number> {
  const q = query({ state: v.state, agent: v.agent, group: v.group, limit: v.limit, after: v.after });
  const { tasks } = (await call(endpoint, 'GET', `/v1/tasks?${q}`)).body as { tasks: Task[] };
  return show(tasks, () => tasks.map(line).join('\n') || '(no tasks)'), 0;
}

async function wait({ args, v, endpoint, show }: Ctx): Promise<number> {
  if (args.length === 0) throw new Exit(2, `usage: ${USAGE.wait}`);
  const timeout = v.timeout === undefined ? Infinity : Number(v.timeout);
  // A bar on stderr for several tasks, on a terminal only (a no-op otherwise, and with --json).
  const bar = args.length > 1 && v.json !== true ? startProgress(args.length, process.stderr, 'waiting') : undefined;
  // While the bar draws, the lines wait for it to end: on the same terminal they would break it up.
  const held: (() => void)[] = [];
  let failed = 0;
  try {
    for (const [i, id] of args.entries()) {
      const result = await waitFor(endpoint, id, timeout);
      if (result.state !== 'succeeded') failed += 1;
      bar?.update(i + 1, `${i + 1 - failed} succeeded, ${failed} failed`);
      const report = (): void => show(result, () => `[${i + 1}/${args.length}] ${id} ${String(result.state)}`);
      if (bar?.active === true) held.push(report);
      else report();
    }
  } finally {
    bar?.stop();
    for (const report of held) report();
  }
  return failed === 0 ? 0 : 1;
}

async function cancel({ args, endpoint, show }: Ctx): Promise<number> {
  if (args.length !== 1) throw new Exit(2, `usage: ${USAGE.cancel}`);
  const body = (await call(endpoint, 'POST', `/v1/tasks/${encodeURIComponent(args[0]!)}/cancel`)).body as { cancelled: boolean };
  return show(body, () => (body.cancelled ? 'cancelled' : 'already finished')), body.cancelled ? 0 : 1;
}

async function dlq({ args, v, endpoint, show }: Ctx): Promise<number> {
  if (args[0] === 'redrive') {
    const ids = args.slice(1);
    if (ids.length === 0) throw new Exit(2, `usage: ${USAGE.dlq}`);
    const body = (await call(endpoint, 'POST', '/v1/dead-letters/redrive', { ids, ...(v.input !== undefined && { input: json(v.input, '--input') }) })).body;
    return show(body, () => `redriven: ${(body as { ids: string[] }).ids.join(' ')}`), 0;
  }
  if (args.length > 0) throw new Exit(2, `usage: ${USAGE.dlq}`);
  const { tasks } = (await call(endpoint, 'GET', `/v1/dead-letters?${query({ agent: v.agent, limit: v.limit })}`)).body as { tasks: Task[] };
  return show(tasks, () => tasks.map(line).join('\n') || '(no dead letters)'), 0;
}

async function breakers({ args, endpoint, show }: Ctx): Promise<number> {
  if (args.length === 0) {
    const { breakers: all } = (await call(endpoint, 'GET', '/v1/breakers')).body as { breakers: Record<string, { state: string; forced: boolean }> };
    return show(all, () => Object.entries(all).map(([k, b]) => `${k.padEnd(24)} ${b.state}${b.forced ? ' (forced)' : ''}`).join('\n')), 0;
  }
  const state = args[0] === 'open' ? 'open' : args[0] === 'close' ? 'closed' : undefined;
  if (state === undefined || args.length !== 2) throw new Exit(2, `usage: ${USAGE.breakers}`);
  const body = (await call(endpoint, 'PUT', `/v1/breakers/${encodeURIComponent(args[1]!)}`, { state })).body;
  return show(body, () => `${args[1]} ${state}`), 0;
}

type Tree = { task: Task & { children?: Record<string, number> }; children: Tree[]; truncated?: number };

/** One line per task, indented by depth: `id agent state attempt (children: 2 running, 1 queued)`. */
function treeLines(node: Tree, depth = 0): string[] {
  const counts = Object.entries(node.task.children ?? {}).map(([s, n]) => `${n} ${s}`).join(', ');
  const own = `${'  '.repeat(depth)}${line(node.task)}${counts ? `  (children: ${counts})` : ''}`;
  const cut = node.truncated === undefined ? [] : [`${'  '.repeat(depth + 1)}… ${node.truncated} more not shown`];
  return [own, ...node.children.flatMap((c) => treeLines(c, depth + 1)), ...cut];
}

async function tree({ args, endpoint, show }: Ctx): Promise<number> {
  if (args.length !== 1) throw new Exit(2, `usage: ${USAGE.tree}`);
  const body = (await call(endpoint, 'GET', `/v1/tasks/${encodeURIComponent(args[0]!)}/tree`)).body as Tree;
  return show(body, () => treeLines(body).join('\n')), 0;
}

async function distribute({ args, v, endpoint, show }: Ctx): Promise<number> {
  if (args.length > 0 || v.tasks === undefined || v.managers === undefined) throw new Exit(2, `usage: ${USAGE.distribute}`);
  const body = {
    tasks: json(v.tasks, '--tasks'), managers: v.managers.split(',').filter((m) => m !== ''),
    ...(v.strategy && { strategy: v.strategy }), ...(v['hash-field'] && { hashField: v['hash-field'] }),
  };
  const out = (await call(endpoint, 'POST', '/v1/distribute', body)).body as { ids: string[]; bindings: Record<string, string | null> };
  return show(out, () => out.ids.map((id) => `${id}  ${out.bindings[id] ?? '(bound at dispatch)'}`).join('\n')), 0;
}

async function top({ args, v, endpoint, show }: Ctx): Promise<number> {
  if (args.length > 0) throw new Exit(2, `usage: ${USAGE.top}`);
  try {
    return await runTop({ endpoint, show, interval: v.interval, once: v.once === true, json: v.json === true });
  } catch (e) {
    throw e instanceof TopError ? new Exit(e.code, e.message) : e;
  }
}

type Line = { attempt: number; stream: string; at: number; line: string };

/** Prints the task's lines as they come: `stream  line` (a terminal's bare), each attempt under a header when there are several. */
async function logs({ args, v, endpoint, show }: Ctx): Promise<number> {
  if (args.length !== 1) throw new Exit(2, `usage: ${USAGE.logs}`);
  if (v.attempt !== undefined && !/^[1-9]\d*$/.test(v.attempt)) throw new Exit(2, `--attempt must be a positive integer (got ${v.attempt})`);
  const q = query({ follow: v.follow === true ? '1' : undefined, attempt: v.attempt, raw: v.raw === true ? '1' : undefined });
  let attempt: number | undefined;
  const onLine = (value: unknown): void => {
    const l = value as Line;
    const header = v.json !== true && v.attempt === undefined && attempt !== l.attempt && (attempt !== undefined || l.attempt > 1);
    attempt = l.attempt;
    // A terminal's lines are its one stream: printed bare, so that --raw replays them as the terminal showed them.
    show(l, () => `${header ? `--- attempt ${l.attempt}\n` : ''}${l.stream === 'tty' ? '' : `${l.stream.padEnd(6)} `}${l.line}`);
  };
  let res: Response;
  try {
    res = await streamDaemon(endpoint, `/v1/tasks/${encodeURIComponent(args[0]!)}/logs${q.size > 0 ? `?${q}` : ''}`, onLine);
  } catch (err) {
    throw new Exit(3, `cannot reach the daemon at ${'socket' in endpoint ? endpoint.socket : endpoint.url}: ${(err as Error).message}`);
  }
  if (res.status >= 400) {
    const error = (res.body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new Exit(res.status === 400 ? 2 : 1, `${error?.code ?? res.status}: ${error?.message ?? 'request failed'}`);
  }
  return 0;
}

const HANDLERS: Record<Command, (ctx: Ctx) => Promise<number>> = { submit, status, list, wait, cancel, dlq, breakers, top, tree, distribute, logs };

const print = (stream: NodeJS.WriteStream) => (text: string): void => {
  stream.write(`${text}\n`);
};

/** Runs one client command; returns its exit status. */
export async function runClientCommand(command: Command, argv: string[], out = print(process.stdout), err = print(process.stderr)): Promise<number> {
  try {
    const { values, positionals } = (() => {
      try {
        return parse(argv);
      } catch (e) {
        throw new Exit(2, (e as Error).message);
      }
    })();
    if (values.help === true) return out(`Usage: ${USAGE[command]}\n${COMMON}`), 0;
    const socket = values.socket ?? clientSocket(process.env);
    const show = (data: unknown, human: () => string): void => {
      out(values.json === true ? JSON.stringify(data) : human());
    };
    const taskToken = process.env.TROUPE_TASK_TOKEN;
    const endpoint: Endpoint = taskToken === undefined || taskToken === '' ? { socket } : { socket, taskToken };
    return await HANDLERS[command]({ args: positionals, v: values, endpoint, show });
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    err(`troupe ${command}: ${e.message}`);
    return e.code;
  }
}

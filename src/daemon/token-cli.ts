/**
 * `troupe token show | rotate`: the TCP listener's token, through the daemon's socket (token-routes.ts).
 * `show` prints the dashboard's address with the token (opening it signs in); `rotate` makes a new
 * token that the running daemon takes at once, the old one refused from the next request on. With
 * no daemon answering, `rotate` writes a new token to the token file beside the socket, which the
 * next start reads, and `show` prints the token kept there. Exit status: 0 done, 1 refused (a token
 * fixed by the configuration, no TCP listener), 2 bad usage, 4 no daemon (show): the table of exit-codes.ts.
 */
import { Command } from 'commander';
import { callDaemon, type Response } from './client.js';
import { configure, program, runProgram, socketFlag, type Outcome } from './cli-kit.js';
import { EXIT } from './exit-codes.js';
import { clientSocket } from './config.js';
import { defaultTokenFile, readTokenFile, rotateTokenFile } from './token-store.js';

interface TokenAnswer {
  url: string;
  dashboard: string;
  token: string;
  file: string | null;
  rotatable: boolean;
}

interface Options {
  socket?: string;
  json?: boolean;
}

const out = (text: string): void => void process.stdout.write(`${text}\n`);
const err = (text: string): void => void process.stderr.write(`${text}\n`);

/** The daemon's answer, or undefined when none answers at the socket. */
async function ask(socket: string, method: string, path: string): Promise<Response | undefined> {
  try {
    return await callDaemon({ socket }, method, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK') return undefined;
    throw e;
  }
}

function refused(res: Response, socket: string): number {
  const error = (res.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (res.status === 404) err(`troupe token: the daemon at ${socket} has no TCP listener, so no token and no dashboard (configure "tcp": { "port" } or TROUPE_PORT)`);
  else err(`troupe token: ${error?.code ?? res.status}: ${error?.message ?? 'refused'}`);
  return EXIT.FAILED;
}

function print(answer: TokenAnswer, json: boolean, rotated: boolean): number {
  if (json) return out(JSON.stringify(answer)), EXIT.OK;
  if (rotated) out('rotated: the old token is refused from now on (signed-in browsers sign in again)');
  out(`dashboard  ${answer.dashboard}`);
  out(`token      ${answer.token}`);
  out(`file       ${answer.file ?? 'none: fixed by the configuration (tcp.token or TROUPE_TOKEN)'}`);
  return EXIT.OK;
}

async function show(options: Options): Promise<number> {
  const socket = options.socket ?? clientSocket(process.env);
  const res = await ask(socket, 'GET', '/v1/token');
  if (res === undefined) {
    const file = defaultTokenFile(socket);
    const token = readTokenFile(file);
    err(`troupe token: no daemon answers at ${socket}${token === undefined ? '' : `; the token kept in ${file} is ${token}`}`);
    return EXIT.UNREACHABLE;
  }
  return res.status === 200 ? print(res.body as TokenAnswer, options.json === true, false) : refused(res, socket);
}

async function rotate(options: Options): Promise<number> {
  const socket = options.socket ?? clientSocket(process.env);
  const res = await ask(socket, 'POST', '/v1/token/rotate');
  if (res === undefined) {
    const file = defaultTokenFile(socket);
    const token = rotateTokenFile(file);
    if (options.json === true) out(JSON.stringify({ token, file, running: false }));
    else out(`no daemon answers at ${socket}: wrote a new token to ${file}; a daemon on this socket reads it when it starts\ntoken      ${token}`);
    return EXIT.OK;
  }
  return res.status === 200 ? print(res.body as TokenAnswer, options.json === true, true) : refused(res, socket);
}

/** `troupe token <show|rotate>`: the exit status. */
export async function runTokenCli(argv: string[]): Promise<number> {
  const outcome: Outcome = { code: EXIT.OK };
  const cmd = program('troupe token').description("the TCP listener's token: the dashboard's address, and a new token");
  const verb = (name: string, about: string, run: (o: Options) => Promise<number>): void => {
    const sub = configure(new Command(name), `troupe token ${name}`).description(about);
    socketFlag(sub).option('--json', 'one JSON object').action(async (o: Options) => void (outcome.code = await run(o)));
    cmd.addCommand(sub);
  };
  verb('show', 'print the dashboard address (with the token: opening it signs in), the token and its file', show);
  verb('rotate', 'make a new token; the running daemon takes it at once and refuses the old one', rotate);
  if (argv.length === 0) return cmd.outputHelp(), EXIT.USAGE;
  return runProgram(cmd, argv, outcome);
}

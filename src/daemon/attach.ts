/**
 * `troupe attach <id> [--write]`: the live terminal of a running `tty` task in this terminal, from
 * `GET /v1/tasks/:id/terminal`. Read-only unless --write, which sends what is typed to the task
 * (`POST /v1/tasks/:id/terminal/input`). Ctrl-] detaches and leaves the task running. Exit status
 * (EXIT): 0 detached or the task's process ended, 1 refused (no terminal), 2 bad usage, 4 no daemon,
 * 5 no such task.
 */
import { request, type IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { callDaemon } from './client.js';
import { program, runProgram, socketFlag, type Outcome } from './cli-kit.js';
import { clientSocket } from './config.js';
import { EXIT, EXIT_HELP } from './exit-codes.js';

/** Ctrl-]: detaches, as in telnet. */
const DETACH = 0x1d;
/** Ctrl-C: read-only, nothing is typed into the task, so it detaches too. */
const INTERRUPT = 0x03;

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

function openTerminal(socket: string, id: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method: 'GET', path: `/v1/tasks/${encodeURIComponent(id)}/terminal` }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function errorOf(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) text += String(chunk);
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string } };
    return `${error.code}: ${error.message}`;
  } catch {
    return `${res.statusCode}: ${text}`;
  }
}

/** Runs `troupe attach`; resolves with its exit status. */
export async function runAttach(argv: string[]): Promise<number> {
  const outcome: Outcome = { code: EXIT.OK };
  const cmd = socketFlag(program('troupe attach'))
    .description("A running tty task's terminal, live in yours: read-only unless --write; Ctrl-] detaches, the task goes on.")
    .argument('<id>', 'the task')
    .option('--write', 'send what you type to the task')
    .addHelpText('after', `\n${EXIT_HELP}`)
    .action(async (id: string, o: { write?: boolean; socket?: string }) => {
      outcome.code = await attach(id, o.socket ?? clientSocket(process.env), o.write === true);
    });
  return runProgram(cmd, argv, outcome);
}

async function attach(id: string, socket: string, write: boolean): Promise<number> {
  let res: IncomingMessage;
  try {
    res = await openTerminal(socket, id);
  } catch (err) {
    return say(`troupe attach: cannot reach the daemon at ${socket}: ${(err as Error).message}`), EXIT.UNREACHABLE;
  }
  const status = res.statusCode ?? 0;
  if (status >= 400) return say(`troupe attach: ${await errorOf(res)}`), status === 404 ? EXIT.NOT_FOUND : EXIT.FAILED;
  return attached(socket, id, res, write);
}

/** Shows the stream until it ends or the user detaches; restores the terminal either way. */
function attached(socket: string, id: string, res: IncomingMessage, write: boolean): Promise<number> {
  const stdin = process.stdin;
  const out = process.stdout;
  const raw = stdin.isTTY === true;
  const size = res.headers['x-troupe-terminal-size'] ?? '?';
  if (out.isTTY) out.write('\x1b[H\x1b[2J'); // the task's screen starts from a clear one
  say(`[troupe] task ${id} attempt ${String(res.headers['x-troupe-attempt'])} ${String(size)}, ${write ? 'typing goes to it' : 'read-only'}; Ctrl-] detaches`);
  const decoder = new StringDecoder('utf8');
  let sending: Promise<unknown> = Promise.resolve();
  const send = (data: string): void => {
    if (data === '') return;
    // One request at a time, in order: keystrokes must arrive as typed.
    sending = sending.then(() => callDaemon({ socket }, 'POST', `/v1/tasks/${encodeURIComponent(id)}/terminal/input`, { data }).catch(() => undefined));
  };
  return new Promise<number>((resolve) => {
    let over = false;
    const finish = (message: string): void => {
      if (over) return;
      over = true;
      stdin.off('data', onInput);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      res.destroy();
      if (out.isTTY) out.write('\x1b[0m\x1b[?25h'); // colours off, cursor shown: whatever the task left set
      void sending.then(() => {
        say(`\r\n[troupe] ${message}`);
        resolve(0);
      });
    };
    const onInput = (chunk: Buffer): void => {
      const at = chunk.indexOf(DETACH);
      if (write) send(decoder.write(at === -1 ? chunk : chunk.subarray(0, at)));
      if (at !== -1 || (!write && raw && chunk.includes(INTERRUPT))) finish(`detached from task ${id}; it goes on running`);
    };
    res.on('data', (chunk: Buffer) => out.write(chunk));
    res.on('end', () => finish(`task ${id}: its process exited`));
    res.on('error', () => finish(`task ${id}: the stream from the daemon broke off`));
    // Without a terminal and without --write there is nothing to read: Ctrl-C ends the process as usual.
    if (raw || write) {
      if (raw) stdin.setRawMode(true);
      stdin.on('data', onInput);
      stdin.resume();
    }
  });
}

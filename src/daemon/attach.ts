/**
 * `troupe attach <id> [--write]`: the live terminal of a running `tty` task in this terminal, from
 * `GET /v1/tasks/:id/terminal`. Read-only unless --write, which sends what is typed to the task
 * (`POST /v1/tasks/:id/terminal/input`). Ctrl-] detaches and leaves the task running. Exit status:
 * 0 detached or the task's process ended, 1 refused (unknown task, no terminal), 2 bad usage, 3 no daemon.
 */
import { request, type IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { parseArgs } from 'node:util';
import { callDaemon } from './client.js';
import { clientSocket } from './config.js';

export const ATTACH_USAGE = 'troupe attach <id> [--write] [--socket PATH]   (a running tty task\'s terminal; --write: type into it; Ctrl-] detaches, the task goes on)';

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
  let values: { socket?: string; write?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { socket: { type: 'string' }, write: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    return say(`troupe attach: ${(err as Error).message}\nusage: ${ATTACH_USAGE}`), 2;
  }
  if (values.help === true) return process.stdout.write(`Usage: ${ATTACH_USAGE}\n`), 0;
  if (positionals.length !== 1) return say(`usage: ${ATTACH_USAGE}`), 2;
  const id = positionals[0]!;
  const socket = values.socket ?? clientSocket(process.env);
  let res: IncomingMessage;
  try {
    res = await openTerminal(socket, id);
  } catch (err) {
    return say(`troupe attach: cannot reach the daemon at ${socket}: ${(err as Error).message}`), 3;
  }
  if ((res.statusCode ?? 0) >= 400) return say(`troupe attach: ${await errorOf(res)}`), res.statusCode === 400 ? 2 : 1;
  return attached(socket, id, res, values.write === true);
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

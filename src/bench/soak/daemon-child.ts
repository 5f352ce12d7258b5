/**
 * The daemon under soak: the built CLI's `troupe daemon --config FILE`, as a child process of its
 * own (its memory is its own, as in production). Its log goes to a file beside the journal.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stopOrKill } from '../child-stop.js';

const CLI = fileURLToPath(new URL('../../cli.js', import.meta.url));
/** Longest the daemon may take to print its ready line. */
const READY_TIMEOUT_MS = 60_000;

export interface DaemonChild {
  pid: number;
  /** Resolves with the exit code (or signal) once the process has exited, whenever that is. */
  exited: Promise<string>;
  /** True once the process has exited. */
  gone(): boolean;
  /** SIGTERM (the daemon drains), SIGKILL if it is still there after a while; resolves with how it exited. */
  stop(): Promise<string>;
  /** The last lines the daemon wrote to stderr (its log), for error messages. */
  logTail(): string;
}

/** Starts the daemon on `config` and resolves once it says it is ready; rejects if it exits or stays silent. */
export async function startDaemonChild(config: string, logFile: string): Promise<DaemonChild> {
  const child = spawn(process.execPath, [CLI, 'daemon', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TROUPE_LOG_FORMAT: 'json' },
  });
  const log = createWriteStream(logFile);
  let tail = '';
  child.stderr.on('data', (d: Buffer) => {
    log.write(d);
    tail = (tail + d.toString()).slice(-4096);
  });
  let status: string | undefined;
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      status = code === null ? String(signal) : `exit ${code}`;
      log.end();
      resolve(status);
    }),
  );
  // A soak that dies (an error, a signal) must not leave its daemon behind.
  const killNow = (): void => void child.kill('SIGKILL');
  const onSignal = (signal: NodeJS.Signals): void => {
    killNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', killNow);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const handle: DaemonChild = {
    pid: child.pid!,
    exited,
    gone: () => status !== undefined,
    async stop() {
      process.off('exit', killNow);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (status === undefined) await stopOrKill(child, exited.then(() => undefined), () => child.kill('SIGTERM'));
      return exited;
    },
    logTail: () => tail.trim(),
  };
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`soak: the daemon did not get ready within ${READY_TIMEOUT_MS} ms: ${handle.logTail()}`)), READY_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('troupe daemon ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`soak: the daemon exited (${how}) before it was ready: ${handle.logTail()}`));
    });
  }).catch(async (err: unknown) => {
    await handle.stop();
    throw err;
  });
  return handle;
}

/**
 * A plainjob worker process for the `noop` and `durability` baselines, forked by ../plainjob.ts
 * as plainjob's README runs its multi-process workers: its own better-sqlite3 connection to the
 * queue's file, plainjob's defaults (WAL, synchronous=NORMAL, busy_timeout 5000), one worker loop
 * taking one job at a time. The no-op processor returns the job's data; plainjob keeps no
 * results and tells no other process of completions, so each one goes back to the bench over the
 * IPC channel, after plainjob has marked the job done.
 */
import Database from 'better-sqlite3';
import type { PlainjobLogger, PlainjobModule, PlainjobParentMessage, PlainjobWorkerArgs, PlainjobWorkerMessage } from '../plainjob-api.js';

/** plainjob logs every job at debug level to the console by default: kept quiet, errors aside. */
const QUIET: PlainjobLogger = {
  error: (message) => process.stderr.write(`troupe bench: plainjob worker ${process.pid}: ${message}\n`),
  warn: () => {},
  info: () => {},
  debug: () => {},
};

function send(message: PlainjobWorkerMessage): void {
  // The channel is gone once the bench has exited; nothing is left to tell then.
  if (process.connected) process.send!(message);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as PlainjobWorkerArgs;
  const plainjob = (await import(args.module)) as PlainjobModule;
  const queue = plainjob.defineQueue({ connection: plainjob.better(new Database(args.database)), logger: QUIET });
  const results = new Map<number, unknown>();
  const worker = plainjob.defineWorker(
    args.type,
    (job) => {
      results.set(job.id, JSON.parse(job.data) as unknown);
    },
    {
      queue,
      logger: QUIET,
      pollIntervall: args.pollIntervalMs,
      onCompleted: (job) => {
        const result = results.get(job.id);
        results.delete(job.id);
        send({ kind: 'done', id: job.id, result });
      },
      onFailed: (job, error) => {
        results.delete(job.id);
        send({ kind: 'failed', id: job.id, error });
      },
    },
  );
  const running = worker.start();
  const stop = async (): Promise<void> => {
    await worker.stop();
    await running;
    queue.close();
    process.exit(0);
  };
  process.on('message', (m: PlainjobParentMessage) => {
    if (m.kind === 'stop') void stop();
  });
  // The bench died without stopping us: nobody is left to add or await jobs.
  process.on('disconnect', () => process.exit(0));
  send({ kind: 'ready' });
  await running;
}

main().catch((err: unknown) => {
  process.stderr.write(`troupe bench: plainjob worker ${process.pid}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

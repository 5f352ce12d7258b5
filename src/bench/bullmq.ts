/**
 * The BullMQ baseline: a Queue, a Worker and one QueueEvents on a throwaway local Redis, behind
 * the bench's `Target` interface. BullMQ is loaded with a dynamic import, so that `troupe bench`
 * still runs where the dev dependencies are absent (its rows are then skipped).
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { BullConnection, BullMQModule, BullQueueEvents } from './bullmq-api.js';
import { describePersistence, findRedisServer, REDIS_NOT_INSTALLED, startRedis, type RedisPersistence, type RedisServer } from './redis.js';
import type { Target } from './targets.js';

/** A variable, so that the compiler does not look for BullMQ (it is installed only to run the bench). */
const BULLMQ = 'bullmq';

/** `inline`: the processor runs on the main thread; `sandboxed`: in BullMQ's worker threads. */
export type BullMQKind = 'inline' | 'sandboxed';

export interface BullMQOptions {
  kind: BullMQKind;
  /** Jobs the Worker runs at once; for `sandboxed`, also the number of worker threads. */
  concurrency: number;
  /**
   * Length the queue's event stream is trimmed to. Completions are learnt from that stream, so
   * it must hold every event of a burst (BullMQ's default, 10,000, is 2,500 jobs' worth).
   */
  maxEvents: number;
  /** What the Redis of this target writes to disk; default `none`. */
  persistence?: RedisPersistence;
}

export interface BullMQTarget extends Target {
  /** What the measurement ran on: versions, Redis client, concurrency. */
  facts(): Record<string, string | number>;
}

const SANDBOX_PROCESSOR = new URL('./workers/bullmq-noop.js', import.meta.url);
const requireHere = createRequire(import.meta.url);

/** Why the BullMQ rows cannot run here, or undefined when they can. Synchronous, for `plan()`. */
export function bullmqUnavailable(): string | undefined {
  if (!resolves('bullmq') || !resolves('ioredis')) return 'skipped: bullmq is not installed (npm run bench:baselines installs it)';
  if (findRedisServer() === undefined) return REDIS_NOT_INSTALLED;
  return undefined;
}

/** BullMQ 6 ships no Redis client: it drives ioredis, as its users run it. */
export function redisClientName(): string {
  return 'ioredis';
}

function resolves(specifier: string): boolean {
  try {
    requireHere.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

function bullmqVersion(): string {
  try {
    return (requireHere('bullmq/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** A connection option for BullMQ, and what to close after BullMQ has closed its own. */
interface Connection {
  connection: BullConnection;
  close(): Promise<void>;
}

function connect(server: RedisServer): Connection {
  // Options, not a client: BullMQ opens (and closes) its own ioredis connections, as users let it.
  return { connection: { host: server.host, port: server.port }, close: async () => {} };
}

/**
 * Completions learnt from one QueueEvents listener, each resolving the waiter of its job id. The
 * docs' `job.waitUntilFinished(queueEvents)` adds two listeners per job; this is what it does,
 * without them. Waiters are registered before the job is added (ids are chosen by the caller), so
 * no completion can arrive before its waiter.
 */
class Completions {
  private readonly waiters = new Map<string, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(events: BullQueueEvents) {
    events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, (w) => w.resolve(returnvalue)));
    events.on('failed', ({ jobId, failedReason }) => this.settle(jobId, (w) => w.reject(new Error(`BullMQ job ${jobId} failed: ${failedReason}`))));
  }

  wait(jobId: string): Promise<unknown> {
    return new Promise((resolve, reject) => this.waiters.set(jobId, { resolve, reject }));
  }

  /** Rejects every waiter, e.g. when the add() of its job failed or the target closes. */
  fail(jobId: string, err: Error): void {
    this.settle(jobId, (w) => w.reject(err));
  }

  private settle(jobId: string, how: (w: { resolve(v: unknown): void; reject(e: Error): void }) => void): void {
    const waiter = this.waiters.get(jobId);
    if (waiter === undefined) return;
    this.waiters.delete(jobId);
    how(waiter);
  }
}

/** Starts Redis, then a Queue, a Worker and a QueueEvents on a queue of its own; all untimed. */
export async function startBullMQ(options: BullMQOptions): Promise<BullMQTarget> {
  const skipped = bullmqUnavailable();
  if (skipped !== undefined) throw new Error(`bench: BullMQ target started although ${skipped}`);
  const bull = (await import(BULLMQ)) as BullMQModule;
  const started = await startRedis({ persistence: options.persistence ?? 'none' });
  if ('skipped' in started) throw new Error(`bench: ${started.skipped}`);
  const server = started.server;
  try {
    return await startOn(bull, server, options);
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function startOn(bull: BullMQModule, server: RedisServer, { kind, concurrency, maxEvents }: BullMQOptions): Promise<BullMQTarget> {
  const { connection, close: closeConnection } = connect(server);
  const name = `troupe-bench-${kind}-${randomUUID()}`;
  const queue = new bull.Queue(name, {
    connection,
    streams: { events: { maxLen: maxEvents } },
    // Kept jobs would only grow Redis over a burst; results travel in the 'completed' event.
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
  });
  // From the stream's start: the queue is new, so nothing earlier than this measurement is there.
  const events = new bull.QueueEvents(name, { connection, lastEventId: '0-0' });
  const worker =
    kind === 'inline'
      ? new bull.Worker(name, async (job) => job.data as unknown, { connection, concurrency })
      : new bull.Worker(name, SANDBOX_PROCESSOR, {
          connection,
          concurrency,
          useWorkerThreads: true,
          // BullMQ hands its threads the process's execArgv, and worker threads refuse --expose-gc.
          workerThreadsOptions: { execArgv: [] },
        });
  const report = reportOnce(`BullMQ ${kind}`);
  queue.on('error', report);
  events.on('error', report);
  worker.on('error', report);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
  await queue.getVersion(); // resolves once the queue's meta (the events' maxLen) is written

  const completions = new Completions(events);
  let next = 0;
  return {
    run: (input) => {
      // Custom ids must not be integers in BullMQ.
      const jobId = `j${(next += 1)}`;
      const done = completions.wait(jobId);
      queue.add('noop', input, { jobId }).catch((err: Error) => completions.fail(jobId, err));
      return done;
    },
    threads: () => (kind === 'sandboxed' ? concurrency : undefined),
    facts: () => ({
      bullmq: bullmqVersion(),
      redis: server.version,
      redisPersistence: describePersistence(server.persistence),
      redisClient: redisClientName(),
      concurrency,
    }),
    close: async () => {
      try {
        await worker.close();
        await events.close();
        await queue.obliterate({ force: true });
        await queue.close();
        await closeConnection();
      } finally {
        await server.stop();
      }
    },
  };
}

/** Connection errors go to stderr, once per target, rather than crashing on an unheard 'error'. */
function reportOnce(what: string): (err: Error) => void {
  let reported = false;
  return (err) => {
    if (reported) return;
    reported = true;
    process.stderr.write(`troupe bench: ${what}: ${err.message}\n`);
  };
}

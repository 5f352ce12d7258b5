/**
 * The part of BullMQ's API the baseline uses, typed here: BullMQ is not a dependency of Troupe
 * (its optional native accelerator cannot be locked on every registry), so `npm run bench:baselines`
 * installs it beside the project and the bench loads it at run time.
 */
export interface BullEmitter {
  on(event: 'error', listener: (err: Error) => void): unknown;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

export interface BullQueue extends BullEmitter {
  add(name: string, data: unknown, options: { jobId: string }): Promise<unknown>;
  getVersion(): Promise<unknown>;
  obliterate(options: { force: boolean }): Promise<void>;
}

export interface BullQueueEvents extends BullEmitter {
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'completed', listener: (args: { jobId: string; returnvalue: unknown }) => void): unknown;
  on(event: 'failed', listener: (args: { jobId: string; failedReason: string }) => void): unknown;
}

export type BullConnection = { host: string; port: number };

/** The module's constructors, as `import('bullmq')` gives them. */
export interface BullMQModule {
  Queue: new (
    name: string,
    options: { connection: BullConnection; streams: { events: { maxLen: number } }; defaultJobOptions: { removeOnComplete: boolean; removeOnFail: boolean } },
  ) => BullQueue;
  QueueEvents: new (name: string, options: { connection: BullConnection; lastEventId: string }) => BullQueueEvents;
  Worker: new (
    name: string,
    processor: ((job: { data: unknown }) => Promise<unknown>) | URL,
    options: { connection: BullConnection; concurrency: number; useWorkerThreads?: boolean; workerThreadsOptions?: { execArgv: string[] } },
  ) => BullEmitter;
}

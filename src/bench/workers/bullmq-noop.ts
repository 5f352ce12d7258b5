/**
 * BullMQ sandboxed processor for the `noop` baseline, run by BullMQ in a worker thread
 * (`useWorkerThreads: true`): returns the job's data unchanged, as the other no-op handlers do.
 */
export default (job: { data: unknown }): unknown => job.data;

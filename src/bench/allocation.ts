/**
 * Bytes allocated on the main thread while a function runs: V8's sampling heap profiler, told to
 * keep the samples of objects the garbage collector has freed as well, so the sum of its samples
 * is what was allocated, not what survived. An estimate (one sample per `SAMPLE_BYTES` on average),
 * good to a few percent over tens of megabytes. Pool threads are other isolates: not counted.
 */
import { Session } from 'node:inspector/promises';

const SAMPLE_BYTES = 256;

interface SamplingNode {
  selfSize: number;
  children: SamplingNode[];
}

export async function allocatedDuring(fn: () => Promise<void>): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: SAMPLE_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
    await fn();
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
    let total = 0;
    const stack = [profile.head];
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      total += node.selfSize;
      stack.push(...node.children);
    }
    return total;
  } finally {
    session.disconnect();
  }
}

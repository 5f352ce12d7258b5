import { createHash } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineAgent } from 'troupe/agent';
import { epochNow, type RunInterval } from './scenario-interval.js';

export interface ScenarioIoInput {
  /** Directory the agent writes its file in. */
  dir: string;
  /** Blocks appended (one write + fdatasync each), with a pause after each, as a slow device would. */
  blocks: number;
  pauseMs: number;
}

/** The content of block `i`: 1 KiB the caller can recompute. */
export function ioBlock(i: number): string {
  return `${String(i).padStart(8, '0')}`.repeat(128);
}

/** SHA-256 of what the agent writes for `blocks` blocks. */
export function ioDigest(blocks: number): string {
  const hash = createHash('sha256');
  for (let i = 0; i < blocks; i += 1) hash.update(ioBlock(i));
  return hash.digest('hex');
}

/**
 * An I/O-bound module agent (scenario `a`): appends blocks to a file with a sync after each,
 * reads the file back, and returns its digest. Its thread mostly waits.
 */
export default defineAgent(async (input: ScenarioIoInput, ctx): Promise<RunInterval & { bytes: number; digest: string }> => {
  const startedAt = epochNow();
  const path = join(input.dir, `io-${ctx.taskId}.bin`);
  const file = await open(path, 'w');
  try {
    for (let i = 0; i < input.blocks; i += 1) {
      await file.write(ioBlock(i));
      await file.datasync();
      await sleep(input.pauseMs);
    }
  } finally {
    await file.close();
  }
  const content = await readFile(path);
  await rm(path);
  const digest = createHash('sha256').update(content).digest('hex');
  return { bytes: content.length, digest, startedAt, endedAt: epochNow() };
});

// One round's commit: what the ledger recorded, as the rows the store writes.
import type { BreakerRecord, Message } from '../core/messages.js';
import type { Ledger } from './ledger.js';
import type { BlobField, CommitGroup, LogRow, TaskWrite } from './journal/store.js';

interface OpenWrite extends TaskWrite {
  blobs: ReadonlySet<BlobField>;
}

/** Most writes change no blob (a start) or one: the set is made only when one is added. */
const NO_BLOBS: ReadonlySet<BlobField> = new Set();

function taskIdOf(msg: Message): string | undefined {
  if (msg.type === 'task.submitted') return msg.task.id;
  return 'taskId' in msg ? msg.taskId : undefined;
}

/**
 * Applies messages to the ledger and gathers what they recorded: each task's row once, as the
 * round leaves it (with the blobs it changed and the lease it was fenced by), a log row per
 * transition, and the breakers recorded.
 */
export class CommitBuilder {
  private readonly writes = new Map<string, OpenWrite>();
  private readonly log: LogRow[] = [];
  private readonly breakers = new Map<string, BreakerRecord>();

  constructor(private readonly ledger: Ledger) {}

  get empty(): boolean {
    return this.writes.size === 0 && this.breakers.size === 0;
  }

  /** Records `msg` in the ledger; false if it was refused. */
  apply(msg: Message): boolean {
    const id = taskIdOf(msg);
    // The lease the store last had for the task: its first write in the round is fenced by it.
    const fence = id === undefined || this.writes.has(id) ? null : (this.ledger.get(id)?.lease ?? null);
    const rec = this.ledger.record(msg);
    if (rec === undefined) return false;
    if (rec.breaker !== undefined) this.breakers.set(rec.breaker, this.ledger.breakerRecords().get(rec.breaker)!);
    const task = rec.task;
    if (task === undefined) return true;
    let write = this.writes.get(task.id);
    if (write === undefined) this.writes.set(task.id, (write = { task, insert: rec.inserted === true, blobs: NO_BLOBS, fence }));
    if (rec.blobs !== undefined && rec.blobs.length > 0) {
      const blobs = write.blobs === NO_BLOBS ? new Set<BlobField>() : (write.blobs as Set<BlobField>);
      for (const blob of rec.blobs) blobs.add(blob);
      write.blobs = blobs;
    }
    if (rec.log !== undefined) {
      this.log.push({ taskId: task.id, type: rec.log.type, attempt: rec.attempt ?? task.attempt, at: (msg as { at: number }).at, detail: rec.log.detail });
    }
    return true;
  }

  build(): CommitGroup {
    return { tasks: [...this.writes.values()], log: this.log, breakers: this.breakers };
  }
}

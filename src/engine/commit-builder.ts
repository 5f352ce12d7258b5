// One round's commit: what the ledger recorded, as the rows the store writes.
import type { BreakerRecord, IntakeRecord, Message } from '../core/messages.js';
import type { Ledger } from './ledger.js';
import type { BlobField, CommitGroup, LogRow, TaskWrite } from './journal/store.js';

interface OpenWrite extends TaskWrite {
  blobs: ReadonlySet<BlobField>;
  /** `blobs` as bits of BLOB_FIELDS. */
  mask: number;
}

const BLOB_FIELDS: readonly BlobField[] = ['input', 'checkpoint', 'result'];
/** One shared, read-only set per combination of blobs (a write's set is never changed in place): no set per write. */
const BLOB_SETS: readonly ReadonlySet<BlobField>[] = Array.from({ length: 1 << BLOB_FIELDS.length }, (_, mask) => new Set(BLOB_FIELDS.filter((_, i) => (mask & (1 << i)) !== 0)));
const BIT: Readonly<Record<BlobField, number>> = { input: 1, checkpoint: 2, result: 4 };

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
  /** Agents paused (their record) or resumed (null) in the round; made only then (a builder is made per round). */
  private intakes: Map<string, IntakeRecord | null> | undefined;

  constructor(private readonly ledger: Ledger) {}

  get empty(): boolean {
    return this.writes.size === 0 && this.breakers.size === 0 && this.intakes === undefined;
  }

  /** Records `msg` in the ledger; false if it was refused. */
  apply(msg: Message): boolean {
    const id = taskIdOf(msg);
    // The lease the store last had for the task: its first write in the round is fenced by it.
    const fence = id === undefined || this.writes.has(id) ? null : (this.ledger.get(id)?.lease ?? null);
    const rec = this.ledger.record(msg);
    if (rec === undefined) return false;
    if (rec.breaker !== undefined) this.breakers.set(rec.breaker, this.ledger.breakerRecords().get(rec.breaker)!);
    if (rec.intake !== undefined) (this.intakes ??= new Map()).set(rec.intake, this.ledger.pausedAgents().get(rec.intake) ?? null);
    const task = rec.task;
    if (task === undefined) return true;
    let write = this.writes.get(task.id);
    if (write === undefined) this.writes.set(task.id, (write = { task, insert: rec.inserted === true, blobs: BLOB_SETS[0]!, mask: 0, fence }));
    if (rec.blobs !== undefined && rec.blobs.length > 0) {
      for (const blob of rec.blobs) write.mask |= BIT[blob];
      write.blobs = BLOB_SETS[write.mask]!;
    }
    if (rec.log !== undefined) {
      this.log.push({ taskId: task.id, type: rec.log.type, attempt: rec.attempt ?? task.attempt, at: (msg as { at: number }).at, detail: rec.log.detail });
    }
    return true;
  }

  build(): CommitGroup {
    const group: CommitGroup = { tasks: [...this.writes.values()], log: this.log, breakers: this.breakers };
    if (this.intakes !== undefined) group.intakes = this.intakes;
    return group;
  }
}

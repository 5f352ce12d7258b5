// Tasks read back from the journal at start: summaries first, blobs on demand.
import { deserialize } from 'node:v8';
import type { SerializedError } from '../../core/errors.js';
import type { Strategy } from '../../core/distribution.js';
import type { AgentKind, AttemptRecord, ChildPolicy, ParentFailurePolicy, Priority, TaskPolicy, TaskRecord, TaskState } from '../../core/task.js';

/** What recovery reads of a task row: everything but the blobs (input, checkpoint, result). */
export const SUMMARY_COLUMNS =
  'id, seq, agent, kind, priority, resources, key, state, attempt, lease, submitted_at, started_at, finished_at, error, cancel_reason, ' +
  // Retry bookkeeping in one value, NULL for the many tasks that never failed nor started: every
  // column costs a JS value per row, and a large backlog is read back at every start.
  'CASE WHEN failures = 0 AND starts = 0 AND policy IS NULL AND retry_at IS NULL AND history IS NULL THEN NULL ' +
  'ELSE json_array(json(policy), failures, starts, retry_at, json(history)) END, deps, task_group, cache, manager';
export type SummaryRow = [
  id: string, seq: number, agent: string, kind: AgentKind, priority: Priority, resources: string, key: string | null,
  state: TaskState, attempt: number, lease: string | null, submitted_at: number, started_at: number | null,
  finished_at: number | null, error: string | null, cancel_reason: string | null, resilience: string | null, deps: string | null,
  group: string | null,
  cache: string | null,
  manager: string | null,
];

/** The workflow fields, as the journal keeps them (absent ones are left out of the JSON). */
type Deps = Pick<TaskRecord, 'dependsOn' | 'onParentFailure' | 'name' | 'graph' | 'rank' | 'origin' | 'parentId' | 'childKey' | 'maxChildren' | 'childPolicy' | 'managers' | 'distribution' | 'hashKey'>;

/** The result-cache fields, as the journal keeps them. */
export type CacheColumn = Pick<TaskRecord, 'cacheKey' | 'cachedFrom'>;

type Resilience = [policy: TaskPolicy | null, failures: number, starts: number, retryAt: number | null, history: AttemptRecord[] | null];

export const unpack = (blob: Buffer | null): unknown => (blob === null ? undefined : deserialize(blob));

const NO_RESOURCES: readonly string[] = Object.freeze([]);
const UNREAD = Symbol('unread');

/**
 * A task read back from the journal. Its input, checkpoint and result are read from disk (and
 * decoded) the first time something asks for them; assigning one replaces the stored value.
 */
export class StoredTask implements TaskRecord {
  readonly id: string;
  readonly seq: number;
  readonly agent: string;
  readonly kind: AgentKind;
  readonly priority: Priority;
  readonly resources: readonly string[];
  readonly key?: string;
  // Declared only (not initialised per instance): most tasks never have them, and a large backlog
  // is read back at every start.
  declare readonly policy?: TaskPolicy;
  declare readonly dependsOn?: readonly string[];
  declare readonly onParentFailure?: ParentFailurePolicy;
  declare readonly name?: string;
  declare readonly graph?: string;
  declare readonly rank?: number;
  declare readonly origin?: string;
  declare readonly parentId?: string;
  declare readonly childKey?: string;
  declare readonly maxChildren?: number;
  declare readonly childPolicy?: ChildPolicy;
  declare readonly managers?: readonly string[];
  declare readonly distribution?: Strategy;
  declare readonly hashKey?: string;
  declare managerId?: string;
  declare readonly group?: string;
  declare readonly cacheKey?: string;
  declare readonly cachedFrom?: string;
  state: TaskState;
  attempt: number;
  declare failures?: number;
  declare starts?: number;
  declare retryAt?: number;
  declare history?: AttemptRecord[];
  submittedAt: number;
  lease?: string;
  startedAt?: number;
  finishedAt?: number;
  error?: SerializedError;
  cancelReason?: string;
  readonly #fetch: (id: string) => [Buffer | null, Buffer | null, Buffer | null];
  #blobs: [unknown, unknown, unknown] = [UNREAD, UNREAD, UNREAD];

  constructor(row: SummaryRow, fetch: (id: string) => [Buffer | null, Buffer | null, Buffer | null]) {
    this.#fetch = fetch;
    const [id, seq, agent, kind, priority, resources, key, state, attempt, lease, submittedAt, startedAt, finishedAt, error, reason] = row;
    this.id = id;
    this.seq = seq;
    this.agent = agent;
    this.kind = kind;
    this.priority = priority;
    this.resources = resources === '[]' ? NO_RESOURCES : (JSON.parse(resources) as string[]);
    if (key !== null) this.key = key;
    this.state = state;
    this.attempt = attempt;
    this.submittedAt = submittedAt;
    if (lease !== null) this.lease = lease;
    if (startedAt !== null) this.startedAt = startedAt;
    if (finishedAt !== null) this.finishedAt = finishedAt;
    if (error !== null) this.error = JSON.parse(error) as SerializedError;
    if (reason !== null) this.cancelReason = reason;
    if (row[15] !== null) this.#resilience(JSON.parse(row[15]) as Resilience);
    if (row[16] !== null) Object.assign(this, JSON.parse(row[16]) as Deps);
    if (row[17] !== null) (this as { group?: string }).group = row[17];
    if (row[18] !== null) Object.assign(this, JSON.parse(row[18]) as CacheColumn);
    if (row[19] !== null) this.managerId = row[19];
  }

  /** Retry bookkeeping: absent (not zero) when unused, as on a fresh task, to keep records small. */
  #resilience([policy, failures, starts, retryAt, history]: Resilience): void {
    if (policy !== null) (this as { policy?: TaskPolicy }).policy = policy;
    if (failures !== 0) this.failures = failures;
    if (starts !== 0) this.starts = starts;
    if (retryAt !== null) this.retryAt = retryAt;
    if (history !== null) this.history = history;
  }

  get input(): unknown {
    return this.#blob(0);
  }

  set input(value: unknown) {
    this.#blobs[0] = value;
  }

  get checkpoint(): unknown {
    return this.#blob(1);
  }

  set checkpoint(value: unknown) {
    this.#blobs[1] = value;
  }

  get result(): unknown {
    return this.#blob(2);
  }

  set result(value: unknown) {
    this.#blobs[2] = value;
  }

  #blob(i: 0 | 1 | 2): unknown {
    if (this.#blobs[i] === UNREAD) {
      const stored = this.#fetch(this.id);
      for (const j of [0, 1, 2] as const) if (this.#blobs[j] === UNREAD) this.#blobs[j] = unpack(stored[j]);
    }
    return this.#blobs[i];
  }
}

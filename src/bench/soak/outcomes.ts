/**
 * The soak's task kinds: what each agent is given and what each task must end as. Shared by the
 * agents (pool threads, subprocesses: it imports nothing heavy) and the soak that checks them, so
 * that every accepted task's terminal state and result are known before it runs.
 */
import { createHash } from 'node:crypto';
import { draw } from '../agents/random-fail.js';

/** Agent names in the daemon's config, one per kind of load. */
export const KINDS = ['hash', 'flaky', 'phased', 'command'] as const;
export type Kind = (typeof KINDS)[number];

export interface HashInput {
  text: string;
  rounds: number;
}

/** A run of task `i` fails when draw(i, seed, attempt) < rate (the bench's `random-fail` hash). */
export interface DrawInput {
  i: number;
  seed: number;
  rate: number;
}

export interface PhasedInput {
  i: number;
  /** The file the soak writes `ok` or `fail` to. */
  phaseFile: string;
}

/** The error of the flaky module agent: the soak's breaker config ignores this name. */
export class SoakFlakyError extends Error {
  constructor(i: number, attempt: number) {
    super(`flaky: failing run (task ${i}, attempt ${attempt})`);
    this.name = 'SoakFlakyError';
  }
}

export function chainDigest(input: HashInput): string {
  let digest = input.text;
  for (let r = 0; r < input.rounds; r += 1) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}

export function runFails(input: DrawInput, attempt: number): boolean {
  return draw(input.i, input.seed, attempt) < input.rate;
}

/** What a task must end as: its terminal state and, when it succeeds, its result. */
export interface Expected {
  state: 'succeeded' | 'dead';
  result?: unknown;
}

/**
 * The designed outcome of a drawn task given `attempts` runs at most: dead exactly when every one
 * of them fails (the breaker holds tasks back but never changes which runs fail).
 */
export function drawnOutcome(input: DrawInput, attempts: number, result: unknown): Expected {
  for (let attempt = 1; attempt <= attempts; attempt += 1) if (!runFails(input, attempt)) return { state: 'succeeded', result };
  return { state: 'dead' };
}

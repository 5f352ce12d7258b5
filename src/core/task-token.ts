// Capabilities of running command tasks: a token per task that lets its process act on its own subtree only.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Issues and checks task tokens (`<task id>.<HMAC of the id>`, keyed by a secret drawn at each
 * start): a command agent's process gets its task's token as TROUPE_TASK_TOKEN and presents it to
 * the daemon, which then lets it submit children of that task and read or cancel its subtree, and
 * nothing else. A token names no run: it is good while its task runs, and dies with the runtime.
 */
export class TaskTokens {
  readonly #secret = randomBytes(32);

  issue(taskId: string): string {
    return `${taskId}.${this.#mac(taskId)}`;
  }

  /** The task id a token was issued for, or undefined for anything else. */
  taskOf(token: string): string | undefined {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const taskId = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.#mac(taskId));
    return given.length === expected.length && timingSafeEqual(given, expected) ? taskId : undefined;
  }

  #mac(taskId: string): string {
    return createHmac('sha256', this.#secret).update(taskId).digest('base64url');
  }
}

// Command agents' executables, looked up at start as spawn() will at run time: by PATH (the agent's
// env, else the daemon's) for a bare name, against the agent's cwd for a path.
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import which from 'which';
import { fieldError } from '../core/errors.js';
import type { AgentConfig, CommandAgentConfig } from '../core/config.js';

/** Why `config.command` cannot be run now, or undefined when it can. */
export function missingExecutable(config: CommandAgentConfig): string | undefined {
  const { command } = config;
  if (!command.includes('/')) {
    const path = config.env?.PATH ?? process.env.PATH ?? '';
    return which.sync(command, { path, nothrow: true }) === null ? `is not an executable on PATH (${path})` : undefined;
  }
  const file = resolve(config.cwd ?? process.cwd(), command);
  try {
    if (!statSync(file).isFile()) return `must name an executable file (${file} is not a file)`;
    accessSync(file, constants.X_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? `must be executable (${file} is not)` : `must name an existing executable (${file} does not exist)`;
  }
}

/**
 * Checks every command agent by its `commandCheck`: 'fail' throws TROUPE_COMMAND_NOT_FOUND naming
 * the agent's `command`, 'warn' logs it (a command that appears later: built, installed, or inside a
 * worktree), 'skip' does nothing. A relative path under a workspace resolves in each task's worktree:
 * it is only warned about.
 */
export function checkCommands(agents: ReadonlyMap<string, AgentConfig>, logger: Logger): void {
  for (const [name, agent] of agents) {
    if (agent.kind !== 'command' || agent.commandCheck === 'skip') continue;
    const problem = missingExecutable(agent);
    if (problem === undefined) continue;
    const field = `options.agents.${name}.command`;
    const inWorktree = agent.workspace !== undefined && agent.command.includes('/') && !agent.command.startsWith('/');
    if (agent.commandCheck === 'warn' || inWorktree) {
      logger.warn({ agent: name, command: agent.command }, `${field} ${problem}`);
      continue;
    }
    throw fieldError('TROUPE_COMMAND_NOT_FOUND', field, `${problem} (set commandCheck: 'warn' if it appears later)`, agent.command);
  }
}

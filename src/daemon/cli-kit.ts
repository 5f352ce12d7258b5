/**
 * What every `troupe` CLI shares on top of commander: one way to build a command (errors prefixed
 * with its name, "did you mean" for unknown commands and flags, usage errors exit EXIT.USAGE), one
 * way to run it to an exit status, and the parsers of flag values, whose errors name the flag.
 */
import { Command, CommanderError } from 'commander';
import { EXIT } from './exit-codes.js';

/** Ends a command with `code`, printing `<command>: <message>` on stderr. */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A flag or argument that is wrong: exit status EXIT.USAGE. */
export const usage = (message: string): CliExit => new CliExit(EXIT.USAGE, message);

/** The exit status of the action that ran (an action sets it; commander's own outcomes map to EXIT). */
export interface Outcome {
  code: number;
}

/**
 * A command (or a program) set up as all of Troupe's are: errors as `<name>: <message>` and a hint
 * to --help, suggestions for misspelt commands and flags, no process.exit (runProgram maps them).
 */
export function configure(cmd: Command, name = cmd.name()): Command {
  return cmd
    .exitOverride()
    .showSuggestionAfterError(true)
    .showHelpAfterError(`(${name} --help shows the usage)`)
    .helpOption('-h, --help', 'show this help')
    .configureOutput({
      writeOut: (s) => void process.stdout.write(s),
      writeErr: (s) => void process.stderr.write(s),
      outputError: (s, write) => write(`${name}: ${s.replace(/^error: /, '')}`),
    });
}

/** The `--socket` flag every command that talks to the daemon takes (its default: clientSocket()). */
export const socketFlag = (cmd: Command): Command => cmd.option('--socket <path>', "the daemon's socket (default $TROUPE_SOCKET or <state dir>/troupe.sock)");

/** A new command named `name` (as typed: `troupe list`), set up by configure(). */
export function program(name: string): Command {
  return configure(new Command(name).helpCommand(false), name);
}

/**
 * Parses `argv` (the arguments after the command's name) and runs the action; resolves with the
 * exit status: the action's, 0 after --help, EXIT.USAGE for what commander refuses or a CliExit says.
 */
export async function runProgram(cmd: Command, argv: readonly string[], outcome: Outcome): Promise<number> {
  try {
    await cmd.parseAsync([...argv], { from: 'user' });
    return outcome.code;
  } catch (err) {
    if (err instanceof CliExit) {
      process.stderr.write(`${cmd.name()}: ${err.message}\n`);
      return err.code;
    }
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    throw err;
  }
}

/** `--resource a --resource b`: every value, in order. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** A whole number in [min, max]; the error names the flag and what it accepts. */
export function intFlag(flag: string, min: number, max = Number.MAX_SAFE_INTEGER, what = 'a whole number'): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      throw usage(`${flag} must be ${what} ${range} (got ${JSON.stringify(raw)})`);
    }
    return n;
  };
}

/** A number of milliseconds ≥ min. */
export function msFlag(flag: string, min = 0): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min) throw usage(`${flag} must be a number of milliseconds ≥ ${min} (got ${JSON.stringify(raw)})`);
    return n;
  };
}

/** A value given as JSON. */
export function jsonFlag(flag: string): (raw: string) => unknown {
  return (raw) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw usage(`${flag} must be JSON (got ${raw})`);
    }
  };
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time: an ISO date (`2026-12-07`, `2026-12-07T10:00Z`) or a duration back from now
 * (`90s`, `10m`, `2h`, `1d`, `1w`). Epoch ms.
 */
export function timeFlag(flag: string, now: () => number = Date.now): (raw: string) => number {
  return (raw) => {
    const rel = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(raw.trim());
    if (rel !== null) return now() - Number(rel[1]) * UNITS[rel[2]!]!;
    const at = /^\d{4}-\d{2}-\d{2}/.test(raw.trim()) ? Date.parse(raw) : NaN;
    if (Number.isNaN(at)) throw usage(`${flag} must be an ISO date (2026-12-07, 2026-12-07T10:00Z) or a time ago (30s, 10m, 2h, 1d, 1w) (got ${JSON.stringify(raw)})`);
    return at;
  };
}

/**
 * The width to lay output out in: --width when given, else the terminal's when stdout is one, else
 * $COLUMNS, else undefined (no limit: a pipe or a file gets whole lines).
 */
export function outputWidth(flag?: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (flag !== undefined) return flag;
  if (process.stdout.isTTY === true && process.stdout.columns > 0) return process.stdout.columns;
  const cols = Number(env.COLUMNS);
  return Number.isInteger(cols) && cols > 0 ? cols : undefined;
}

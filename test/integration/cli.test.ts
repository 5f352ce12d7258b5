import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { version: string; bin: { troupe: string }; types: string };
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [resolve(root, pkg.bin.troupe), ...args], { cwd: root }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('troupe CLI and package', () => {
  it('ships type declarations and a troupe bin', () => {
    expect(existsSync(resolve(root, pkg.types))).toBe(true);
    expect(readFileSync(resolve(root, pkg.bin.troupe), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });

  it('prints help and version', async () => {
    expect(await run(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: troupe') });
    // Troupe's version, then the Node it runs on and the SQLite of its journal.
    const sqlite = new Database(':memory:').prepare('select sqlite_version() as v').get() as { v: string };
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: `troupe ${pkg.version}\nnode ${process.version}\nsqlite ${sqlite.v}\n` });
  });

  it('exits 2 on an unknown command, suggesting the command meant', async () => {
    expect(await run(['fly'])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'fly'") });
    expect(await run(['sumbit'])).toMatchObject({ code: 2, stderr: expect.stringContaining('(Did you mean submit?)') });
  });

  it('runs the library demo workload (troupe demo) with module and command agents to completion', async () => {
    const { code, stdout } = await run(['demo']);
    expect(code).toBe(0);
    expect(stdout.match(/^hash #\d/gm)).toHaveLength(8);
    expect(stdout.match(/^words #\d/gm)).toHaveLength(3);
    expect(stdout).toContain('11 tasks succeeded');
  });
});

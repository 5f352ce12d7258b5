import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../dist/index.js';

const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');

function section(title: string): string {
  const start = readme.indexOf(`## ${title}\n`);
  expect(start, `README has a "## ${title}" section`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe('README', () => {
  it('documents every error code, with the meaning the code gives it, and no others', () => {
    const rows = [...section('Error codes').matchAll(/^\| `(TROUPE_[A-Z_]+)` \| (.+) \|$/gm)];
    const documented = Object.fromEntries(rows.map((m) => [m[1], m[2]]));
    expect(documented).toEqual(ERROR_CODES);
  });

  it('has a quick start of exactly two command lines: run the demo, run the tests', () => {
    const block = /```sh\n([\s\S]*?)```/.exec(section('Quick start'))![1]!;
    const commands = block.split('\n').filter((l) => l.trim() !== '').map((l) => l.replace(/\s+#.*$/, ''));
    expect(commands).toEqual(['npm ci && npm start', 'npm ci && npm test']);
  });
});

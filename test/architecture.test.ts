// The layers of .dependency-cruiser.cjs hold (no backward import, no cycle, type-only imports included),
// and no source file outgrows MAX_LINES. Reads src/ itself, not dist/.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const config = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as IConfiguration;
const MAX_LINES = 400;

/** Cruises `src` under `baseDir` with the project's rules; returns "rule: from → to" per violation, and the modules seen. */
async function violations(baseDir: string): Promise<string[] & { modules: number }> {
  const tsConfig = extractTSConfig(join(ROOT, 'tsconfig.json'));
  const result = await cruise(
    ['src'],
    { ...config.options, baseDir, validate: true, ruleSet: { forbidden: config.forbidden }, tsConfig: { fileName: join(ROOT, 'tsconfig.json') } },
    undefined,
    { tsConfig },
  );
  const output = result.output as ICruiseResult;
  const found = output.summary.violations.map((v) => {
    const cycle = v.cycle === undefined ? '' : ` (cycle: ${v.cycle.map((c) => c.name).join(' → ')})`;
    return `${v.rule.name}: ${v.from} → ${v.to}${cycle}`;
  });
  return Object.assign(found, { modules: output.modules.length });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('architecture', () => {
  it('keeps the layers one-way: core ← actors ← engine ← public API ← apps, and no cycles', async () => {
    const found = await violations(ROOT);
    expect(found.modules, 'modules cruised').toBeGreaterThan(100);
    expect([...found], `dependency-cruiser violations (see .dependency-cruiser.cjs):\n${found.join('\n')}`).toEqual([]);
  });

  it('the rules catch a backward import and a type-only cycle (test/fixtures/layers)', async () => {
    const found = await violations(join(ROOT, 'test/fixtures/layers'));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^core-is-a-leaf: src\/core\/message\.ts → src\/engine\/journal\.ts/),
        expect.stringMatching(/^no-circular: src\/actors\/a\.ts → src\/actors\/b\.ts/),
      ]),
    );
  });

  it(`has no source file over ${MAX_LINES} lines`, () => {
    const long = sourceFiles(join(ROOT, 'src'))
      .map((file) => ({ file: relative(ROOT, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    expect(long, `files over ${MAX_LINES} lines:\n${long.join('\n')}`).toEqual([]);
  });
});

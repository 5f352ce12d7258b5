import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planImports, type ImportPlan } from '../../dist/index.js';
import { agentPath, start, tempDir, tree } from '../helpers.js';


// main → (a ⇄ b) → util; main → c → util; d imports itself; e stands alone.
const FILES = {
  'main.ts': "import './a';\nimport './c';\n",
  'a.ts': "import './b';\n",
  'b.ts': "import './a';\nimport './util';\n",
  'c.ts': "import './util';\n",
  'util.ts': "import 'rxjs';\n",
  'd.py': 'import d\n',
  'e.py': 'import os\n',
};

describe('planImports: the task graph', () => {
  it('makes one task per file, one per cycle, each depending on what its files import', async () => {
    const plan = await planImports(tree(FILES), { agent: 'coder' });
    expect(plan.cycles).toEqual([['a.ts', 'b.ts'], ['d.py']]);
    const byName = new Map(plan.tasks.map((t) => [t.name, t]));
    expect(plan.tasks).toHaveLength(6);
    expect(byName.get('cycle(2):a.ts')).toEqual({ name: 'cycle(2):a.ts', agent: 'coder', input: { files: ['a.ts', 'b.ts'] }, dependsOn: ['util.ts'] });
    expect(byName.get('main.ts')!.dependsOn).toEqual(['c.ts', 'cycle(2):a.ts']);
    expect(byName.get('d.py')).toEqual({ name: 'd.py', agent: 'coder', input: { files: ['d.py'] } });
    expect(plan.levels).toEqual([['d.py', 'e.py', 'util.ts'], ['c.ts', 'cycle(2):a.ts'], ['main.ts']].map((l) => expect.arrayContaining(l)));
    expect(plan.criticalPath).toHaveLength(3);
    expect(plan.criticalPath[0]).toBe('util.ts');
    expect(plan.criticalPath[2]).toBe('main.ts');
    expect(plan.ignored).toBe(2);
    // Every task comes after the tasks it depends on.
    const seen = new Set<string>();
    for (const t of plan.tasks) {
      for (const d of t.dependsOn ?? []) expect(seen.has(d)).toBe(true);
      seen.add(t.name);
    }
  });

  it('is accepted whole by submitGraph(), and every file runs after the files it imports', async () => {
    const plan: ImportPlan = await planImports(tree(FILES), { agent: 'files' });
    const sup = await start({ agents: { files: { module: agentPath('plan-files') } } });
    const ids = await sup.submitGraph(plan.tasks);
    const imports = new Map<string, string[]>();
    for (const e of plan.edges) imports.set(e.from, [...(imports.get(e.from) ?? []), e.to]);
    for (const task of plan.tasks) {
      const { files, before } = (await sup.result(ids[task.name]!)) as { files: string[]; before: string[] };
      expect(files).toEqual(task.input.files);
      const needed = files.flatMap((f) => imports.get(f) ?? []).filter((f) => !files.includes(f));
      for (const f of needed) expect(before).toContain(f);
    }
  });
});

describe('planImports: input validation', () => {
  it('rejects (never throws) a missing directory, a file, an empty agent and unknown options, naming the field', async () => {
    const root = tree({ 'a.js': '' });
    const cases: [unknown, unknown, string, RegExp][] = [
      [join(root, 'missing'), { agent: 'a' }, 'dir', /must exist/],
      [join(root, 'a.js'), { agent: 'a' }, 'dir', /must be a directory/],
      ['', { agent: 'a' }, 'dir', /non-empty string/],
      [root, { agent: '' }, 'options.agent', /agent/],
      [root, {}, 'options.agent', /agent/],
      [root, { agent: 'a', typeImport: false }, 'options.typeImport', /not a known option/],
      [root, { agent: 'a', typeImports: 'no' }, 'options.typeImports', /typeImports/],
      [root, { agent: 'a', tsconfig: 'missing.json' }, 'options.tsconfig', /must name a file/],
    ];
    for (const [dir, options, field, message] of cases) {
      const pending = planImports(dir as string, options as never);
      expect(pending).toBeInstanceOf(Promise);
      await expect(pending).rejects.toMatchObject({ code: 'TROUPE_INVALID_PLAN', details: { field }, message });
    }
  });

  // Issue 15: `tsconfig: "../../../../../etc/passwd"` was read, over HTTP too.
  it('reads no config outside dir: "..", an absolute path or a symbolic link out of it is refused', async () => {
    const outside = join(tempDir(), 'outside.json');
    writeFileSync(outside, JSON.stringify({ compilerOptions: { baseUrl: '.' } }));
    const root = tree({ 'a.ts': "import './b';\n", 'b.ts': '', 'configs/real.json': '{}' });
    symlinkSync(outside, join(root, 'out.json'));
    symlinkSync(join(root, 'configs/real.json'), join(root, 'in.json'));
    for (const tsconfig of ['../../../../../etc/passwd', outside, 'out.json', 'configs/../../x.json']) {
      await expect(planImports(root, { agent: 'a', tsconfig })).rejects.toMatchObject({
        code: 'TROUPE_INVALID_PLAN',
        details: { field: 'options.tsconfig', rule: 'must stay inside dir (no "..", absolute path or symbolic link leading out of it)', value: tsconfig },
      });
    }
    // The default config is confined the same way; a link that stays inside the tree is followed.
    const linked = tree({ 'a.ts': '' });
    symlinkSync(outside, join(linked, 'tsconfig.json'));
    await expect(planImports(linked, { agent: 'a' })).rejects.toMatchObject({ code: 'TROUPE_INVALID_PLAN', details: { field: 'options.tsconfig', value: 'tsconfig.json' } });
    expect((await planImports(root, { agent: 'a', tsconfig: 'in.json' })).edges).toEqual([{ from: 'a.ts', to: 'b.ts' }]);
    expect((await planImports(root, { agent: 'a', tsconfig: 'configs/real.json' })).edges).toEqual([{ from: 'a.ts', to: 'b.ts' }]);
  });
});

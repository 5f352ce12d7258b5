import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planImports } from '../../dist/index.js';
import { extractPyImports } from '../../dist/runtime/plan/py-imports.js';
import { tree } from '../helpers.js';

const ORACLE = resolve(import.meta.dirname, '../fixtures/plan/py_edges.py');


const edgesOf = async (root: string): Promise<string[]> => (await planImports(root, { agent: 'a' })).edges.map((e) => `${e.from} -> ${e.to}`);
const oracle = (root: string): string[] => execFileSync('python3', [ORACLE, root], { encoding: 'utf8' }).split('\n').filter((l) => l !== '');

describe('Python import statements', () => {
  it('reads every form of import, nested, parenthesised, continued, after ; and block headers', () => {
    const source = [
      'import a.b as c, d',
      'from ..pkg.mod import z',
      'from . import (x,',
      '    y as w,  # a comment',
      ')',
      'from ... import q',
      'from m import *',
      'import e \\',
      '  , f',
      'x = 1; import g',
      'if TYPE_CHECKING: import h',
      'def f():',
      '    from i.j import k',
      'raise E from err',
      'y = lambda: 0',
    ].join('\n');
    expect(extractPyImports(source)).toEqual([
      { level: 0, module: 'a.b' },
      { level: 0, module: 'd' },
      { level: 2, module: 'pkg.mod', names: ['z'] },
      { level: 1, module: '', names: ['x', 'y'] },
      { level: 3, module: '', names: ['q'] },
      { level: 0, module: 'm', names: ['*'] },
      { level: 0, module: 'e' },
      { level: 0, module: 'f' },
      { level: 0, module: 'g' },
      { level: 0, module: 'h' },
      { level: 0, module: 'i.j', names: ['k'] },
    ]);
  });

  it('ignores imports inside strings, docstrings, f-strings and comments', () => {
    const source = [
      '"""Docstring',
      'import not_a',
      '"""',
      "s = 'import not_b'",
      'b = rb"from not_c import x"',
      "f = f'{x} import not_d'",
      "t = '''",
      'from not_e import y',
      "'''",
      '# import not_f',
      's2 = "escaped \\" import not_g"',
      'import real',
    ].join('\n');
    expect(extractPyImports(source)).toEqual([{ level: 0, module: 'real' }]);
  });
});

describe('Python resolution', () => {
  const files = {
    'app/__init__.py': 'from .core import run\n',
    'app/core.py': 'import os\nimport json\nfrom . import util\nfrom .util import helper\nimport requests\n',
    'app/util.py': '"""import app.core"""\nfrom app import sub\n',
    'app/sub/__init__.py': '',
    'app/sub/leaf.py': 'from ..core import run\nfrom ... import beyond\nfrom . import nothing_here\n',
    'main.py': 'import app.sub.leaf\nfrom app.sub import leaf\nfrom . import sibling\n',
    'lib/__init__.py': 'from lib import lib\n',
    'src/pkg/__init__.py': 'from . import mod\n',
    'src/pkg/mod.py': 'from pkg import other\n',
    'src/pkg/other.py': 'import app\n',
    '.venv/pyvenv.cfg': '',
    '.venv/lib/x.py': 'import app\n',
    'app/__pycache__/core.py': 'import app\n',
  };

  it('resolves packages, modules, submodules, relative and src/ imports; ignores stdlib, third-party and bad relatives', async () => {
    expect(await edgesOf(tree(files))).toEqual([
      'app/__init__.py -> app/core.py',
      'app/core.py -> app/util.py',
      'app/sub/leaf.py -> app/core.py',
      'app/sub/leaf.py -> app/sub/__init__.py',
      'app/util.py -> app/sub/__init__.py',
      'lib/__init__.py -> lib/__init__.py',
      'main.py -> app/sub/leaf.py',
      'src/pkg/__init__.py -> src/pkg/mod.py',
      'src/pkg/mod.py -> src/pkg/other.py',
      'src/pkg/other.py -> app/__init__.py',
    ]);
  });

  it('agrees with Python’s own ast and import machinery on the same tree', async () => {
    const root = tree(files);
    expect(await edgesOf(root)).toEqual(oracle(root));
  });

  it('plans a package tree as imported by its name from its parent', async () => {
    const root = join(tree({ 'pkg/__init__.py': '', 'pkg/a.py': 'from pkg import b\nimport pkg.b\nfrom .b import x\n', 'pkg/b.py': 'from pkg.a import y\n' }), 'pkg');
    const plan = await planImports(root, { agent: 'a' });
    expect(plan.edges).toEqual([{ from: 'a.py', to: 'b.py' }, { from: 'b.py', to: 'a.py' }]);
    expect(plan.cycles).toEqual([['a.py', 'b.py']]);
    expect(await edgesOf(root)).toEqual(oracle(root));
  });
});

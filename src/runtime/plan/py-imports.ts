// The import statements of a Python file: `import a.b as c, d` and `from ..x import (y, z)`.
import { pyLogicalLines, type PyToken } from './py-tokens.js';

export interface PyImport {
  /** Leading dots of a relative import; 0 for an absolute one. */
  level: number;
  /** The dotted module, `''` for `from . import x`. */
  module: string;
  /** The names of `from … import`, `*` included; absent for `import module`. */
  names?: string[];
}

/** Every import statement, also those nested in blocks or after `;` or `if x:` on one line. */
export function extractPyImports(text: string): PyImport[] {
  const found: PyImport[] = [];
  for (const line of pyLogicalLines(text)) {
    for (const statement of statements(line)) {
      const head = statement[0];
      if (head?.kind !== 'name') continue;
      if (head.text === 'import') found.push(...importNames(statement.slice(1)));
      else if (head.text === 'from') {
        const one = fromImport(statement.slice(1));
        if (one !== undefined) found.push(one);
      }
    }
  }
  return found;
}

/** A logical line split at `;` and at the `:` that ends a block header, outside brackets. */
function statements(line: PyToken[]): PyToken[][] {
  const out: PyToken[][] = [[]];
  for (const token of line) {
    if (token.kind === 'op' && token.depth === 0 && (token.text === ';' || token.text === ':')) out.push([]);
    else out[out.length - 1]!.push(token);
  }
  return out;
}

/** Reads `a.b.c` from the start of `tokens`: the name and the count of tokens read. */
function dotted(tokens: PyToken[], at: number): { name: string; next: number } {
  const parts: string[] = [];
  let i = at;
  while (tokens[i]?.kind === 'name' && tokens[i]!.text !== 'import') {
    parts.push(tokens[i]!.text);
    if (tokens[i + 1]?.text !== '.') return { name: parts.join('.'), next: i + 1 };
    i += 2;
  }
  return { name: parts.join('.'), next: i };
}

function importNames(tokens: PyToken[]): PyImport[] {
  const found: PyImport[] = [];
  for (const part of splitCommas(tokens)) {
    const { name } = dotted(part, 0);
    if (name !== '') found.push({ level: 0, module: name });
  }
  return found;
}

function fromImport(tokens: PyToken[]): PyImport | undefined {
  let level = 0;
  while (tokens[level]?.text === '.') level += 1;
  const { name: module, next } = dotted(tokens, level);
  if (tokens[next]?.text !== 'import' || (level === 0 && module === '')) return undefined;
  const names = splitCommas(tokens.slice(next + 1).filter((t) => t.text !== '(' && t.text !== ')'))
    .map((part) => (part[0]?.text === '*' ? '*' : part[0]?.kind === 'name' ? part[0].text : ''))
    .filter((n) => n !== '');
  return { level, module, names };
}

function splitCommas(tokens: PyToken[]): PyToken[][] {
  const parts: PyToken[][] = [[]];
  for (const t of tokens) {
    if (t.text === ',') parts.push([]);
    else parts[parts.length - 1]!.push(t);
  }
  return parts.filter((p) => p.length > 0);
}

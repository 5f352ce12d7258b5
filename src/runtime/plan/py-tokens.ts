// A small Python tokenizer: enough to find import statements, never inside strings or comments.

export interface PyToken {
  kind: 'name' | 'op' | 'string' | 'number';
  text: string;
  /** Bracket depth before the token: statements split only at depth 0. */
  depth: number;
}

const STRING_START = /(?:[rRbBuUfF]{1,2})?('''|"""|'|")/y;
const NAME = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const NUMBER = /[0-9][0-9a-zA-Z_.]*/y;

/**
 * Python source as logical lines of tokens: comments dropped, strings (docstrings, f-strings)
 * opaque, lines inside brackets or ended by a backslash joined, as Python's own tokenizer does.
 */
export function pyLogicalLines(text: string): PyToken[][] {
  const lines: PyToken[][] = [];
  let line: PyToken[] = [];
  let depth = 0;
  let i = 0;
  const push = (kind: PyToken['kind'], from: number, to: number): void => {
    line.push({ kind, text: text.slice(from, to), depth });
    i = to;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '#') i = lineEnd(text, i);
    else if (c === '\\' && (text[i + 1] === '\n' || text.startsWith('\r\n', i + 1))) i += text[i + 1] === '\n' ? 2 : 3;
    else if (c === '\n') {
      if (depth === 0 && line.length > 0) (lines.push(line), (line = []));
      i += 1;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f') i += 1;
    else if (matchAt(STRING_START, text, i)) push('string', i, stringEnd(text, i));
    else if (matchAt(NAME, text, i)) push('name', i, NAME.lastIndex);
    else if (matchAt(NUMBER, text, i)) push('number', i, NUMBER.lastIndex);
    else {
      if (c === ')' || c === ']' || c === '}') depth = Math.max(0, depth - 1);
      push('op', i, i + 1);
      if (c === '(' || c === '[' || c === '{') depth += 1;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

function matchAt(re: RegExp, text: string, at: number): boolean {
  re.lastIndex = at;
  return re.test(text);
}

function lineEnd(text: string, from: number): number {
  const end = text.indexOf('\n', from);
  return end === -1 ? text.length : end;
}

/** The index after a string literal starting at `from` (unterminated ones end with their line or the file). */
function stringEnd(text: string, from: number): number {
  STRING_START.lastIndex = from;
  const quote = STRING_START.exec(text)![1]!;
  let i = STRING_START.lastIndex;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text.startsWith(quote, i)) return i + quote.length;
    else if (quote.length === 1 && text[i] === '\n') return i;
    else i += 1;
  }
  return text.length;
}

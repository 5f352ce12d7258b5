import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream into lines (a chunk may end inside a line or a multi-byte character) and
 * hands each to `fn`, cut to `maxLine` characters; the last line, if not ended, when the stream ends.
 */
export function splitLines(stream: NodeJS.ReadableStream, maxLine: number, fn: (line: string) => void): void {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (partial + decoder.write(chunk)).split('\n');
    partial = lines.pop() ?? '';
    if (partial.length > maxLine) partial = partial.slice(0, maxLine);
    for (const line of lines) fn(line.length > maxLine ? line.slice(0, maxLine) : line);
  });
  stream.on('end', () => {
    partial += decoder.end();
    if (partial !== '') fn(partial);
  });
}

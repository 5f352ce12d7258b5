#!/usr/bin/env node
// Demo command agent: reads {"text": "..."} as JSON on stdin, writes word statistics as JSON.
import { text } from 'node:stream/consumers';

const input = JSON.parse(await text(process.stdin)) as { text: string };
const words = input.text.split(/\s+/).filter(Boolean);
process.stderr.write(`counting ${words.length} words\n`);
const longest = words.reduce((a, b) => (b.length > a.length ? b : a), '');
process.stdout.write(JSON.stringify({ words: words.length, longest }));

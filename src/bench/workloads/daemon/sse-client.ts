/**
 * A client of the daemon's event stream (`GET /v1/events`) on the main thread: frames parsed as
 * they arrive, each stamped with when its chunk was read.
 */
import { request } from 'node:http';
import { connectionOf, type Endpoint } from './setup.js';
import { epochNow } from './timing.js';

/** One SSE frame as it arrived: `arrivedAt` is when the chunk holding it was read (runtime clock). */
export interface SseFrame {
  type: string;
  data: string;
  arrivedAt: number;
}

/**
 * A `GET /v1/events` stream on its own connection (never the pooled ones: it stays open).
 * Resolves once the `: connected` comment is read, i.e. once the subscription is live.
 */
export function openEvents(endpoint: Endpoint, query: string, onFrame: (f: SseFrame) => void): Promise<{ close(): void }> {
  return new Promise((resolve, reject) => {
    const { headers, ...connection } = connectionOf(endpoint);
    const req = request({ ...connection, headers: { ...headers, accept: 'text/event-stream' }, path: `/v1/events${query}`, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`bench: GET /v1/events${query} answered ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('end', () => reject(new Error(`bench: GET /v1/events${query} ended before it was connected`))); // no-op once connected
      let pending = '';
      res.on('data', (chunk: string) => {
        const arrivedAt = epochNow();
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const frame = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (frame.startsWith(': connected')) resolve({ close: () => req.destroy() });
          else if (!frame.startsWith(':')) onFrame(parseFrame(frame, arrivedAt));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function parseFrame(frame: string, arrivedAt: number): SseFrame {
  let type = 'message';
  let data = '';
  for (const line of frame.split('\n')) {
    if (line.startsWith('event: ')) type = line.slice('event: '.length);
    else if (line.startsWith('data: ')) data += line.slice('data: '.length);
  }
  return { type, data, arrivedAt };
}

/**
 * The event-delivery listener that reads on a worker thread, to tell the SSE stream's own limits
 * from those of the event loop it otherwise shares with the daemon.
 */
import { Worker } from 'node:worker_threads';
import type { Delivery, Listener } from './delivery.js';
import { DELIVERY_TIMEOUT_MS } from './params.js';
import type { BenchDaemon } from './setup.js';

/**
 * The same SSE client on a thread of its own, as a client process would be: it reads while the
 * daemon works. CommonJS evaluated in a Worker (no file to ship); its clock is comparable with the
 * daemon's, as both are `performance.timeOrigin + performance.now()` of one process.
 */
const THREAD_CLIENT = `
const { request } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const delivery = { delays: [], succeeded: 0, dropped: 0 };
let want = Infinity;
const check = () => { if (delivery.succeeded + delivery.dropped >= want) { want = Infinity; parentPort.postMessage({ delivery }); } };
const req = request({ socketPath: workerData.socket, path: '/v1/events' + workerData.query, agent: false }, (res) => {
  res.setEncoding('utf8');
  let pending = '';
  res.on('data', (chunk) => {
    const arrivedAt = performance.timeOrigin + performance.now();
    pending += chunk;
    for (let end; (end = pending.indexOf('\\n\\n')) >= 0; ) {
      const frame = pending.slice(0, end);
      pending = pending.slice(end + 2);
      if (frame.startsWith(': connected')) { parentPort.postMessage({ connected: true }); continue; }
      if (frame.startsWith(':')) continue;
      const type = /^event: (.*)$/m.exec(frame)[1];
      const event = JSON.parse(/^data: (.*)$/m.exec(frame)[1]);
      if (type === 'dropped') delivery.dropped += event.count;
      else if (typeof event.at === 'number') {
        delivery.delays.push(arrivedAt - event.at);
        if (type === 'succeeded') delivery.succeeded += 1;
      }
    }
    check();
  });
});
req.on('error', (err) => parentPort.postMessage({ error: String(err) }));
req.end();
parentPort.on('message', (n) => { want = n; check(); });
`;

type ThreadReply = { connected?: true; delivery?: Delivery; error?: string };

function nextReply(worker: Worker, timeoutMs: number): Promise<ThreadReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: the SSE client thread did not answer within ${timeoutMs} ms`)), timeoutMs);
    worker.once('message', (reply: ThreadReply) => {
      clearTimeout(timer);
      if (reply.error !== undefined) reject(new Error(`bench: SSE client thread: ${reply.error}`));
      else resolve(reply);
    });
  });
}

export function eventsOnThread(query: string): (d: BenchDaemon) => Promise<Listener> {
  return async (d) => {
    const worker = new Worker(THREAD_CLIENT, { eval: true, workerData: { socket: d.daemon.socket, query } });
    try {
      await nextReply(worker, DELIVERY_TIMEOUT_MS); // `: connected`: the subscription is live
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    const collect = async (n: number): Promise<Delivery> => {
      const reply = nextReply(worker, DELIVERY_TIMEOUT_MS);
      worker.postMessage(n);
      return (await reply).delivery!;
    };
    return { collect, close: async () => void (await worker.terminate()) };
  };
}

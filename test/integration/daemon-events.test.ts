import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { Observable } from 'rxjs';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { activeStreams, eventRoutes, eventStreamStats, type EventRouteOptions, type EventStreamStats } from '../../dist/daemon/events-route.js';
import { toHttpError } from '../../dist/daemon/http-errors.js';
import { useZod } from '../../dist/daemon/schemas.js';
import type { Supervisor, TroupeEvent } from '../../dist/index.js';
import { agentPath, failure, gate, record, start, waitFor } from '../helpers.js';

type Frame = { type: string; data: Record<string, unknown> };

/** An SSE client over node:http: collects frames and comments as they arrive. */
class SseClient {
  readonly frames: Frame[] = [];
  readonly comments: string[] = [];
  ended = false;
  private buffer = '';

  constructor(
    readonly req: ClientRequest,
    readonly res: IncomingMessage,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.take(chunk));
    res.on('end', () => (this.ended = true));
    res.on('error', () => undefined); // a test that destroys the request sees 'aborted' here
  }

  has(type: string, taskId?: string): boolean {
    return this.frames.some((f) => f.type === type && (taskId === undefined || f.data.taskId === taskId));
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf('\n\n'); end !== -1; end = this.buffer.indexOf('\n\n')) {
      this.parse(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end + 2);
    }
  }

  private parse(block: string): void {
    const lines = block.split('\n');
    if (lines.every((l) => l.startsWith(':'))) return void this.comments.push(...lines.map((l) => l.slice(1).trim()));
    const type = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length);
    const data = lines.find((l) => l.startsWith('data: '))?.slice('data: '.length);
    if (type === undefined || data === undefined) throw new Error(`malformed SSE frame: ${JSON.stringify(block)}`);
    this.frames.push({ type, data: JSON.parse(data) as Record<string, unknown> });
  }
}

/** Serves the events route (with the daemon's schema compilers and error mapping) on 127.0.0.1; closed after the test. */
async function serve(sup: Supervisor, options?: EventRouteOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  useZod(app);
  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = toHttpError(err);
    return reply.code(status).send(body);
  });
  eventRoutes(app, sup, options);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  onTestFinished(() => app.close());
  return { app, url };
}

/** Opens a stream and waits for its `: connected` comment (from then on the subscription is live). */
async function connect(url: string, query = ''): Promise<SseClient> {
  const client = await new Promise<SseClient>((resolve, reject) => {
    const req = get(`${url}/v1/events${query}`, { agent: false }, (res) => resolve(new SseClient(req, res)));
    req.on('error', reject);
  });
  onTestFinished(() => void client.req.destroy());
  expect(client.res.statusCode).toBe(200);
  expect(client.res.headers).toMatchObject({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  await waitFor(() => client.comments.includes('connected'), 'the ": connected" comment');
  return client;
}

/** Counts the subscribers of `sup.events$` (wraps the real observable). */
function countObservers(sup: Supervisor): () => number {
  const source = sup.events$;
  let observers = 0;
  const counted = new Observable<TroupeEvent>((subscriber) => {
    observers += 1;
    const inner = source.subscribe(subscriber);
    return () => {
      observers -= 1;
      inner.unsubscribe();
    };
  });
  Object.defineProperty(sup, 'events$', { value: counted });
  return () => observers;
}

describe('GET /v1/events', () => {
  it('?taskId streams exactly that task’s events, in order, ending with succeeded', async () => {
    const sup = await start({ agents: { gate: { module: agentPath('gate'), concurrency: 1 } } });
    const { url } = await serve(sup);
    const events = record(sup);
    const g = gate();
    // `a` holds the agent's only slot: `b` stays queued (nothing but `submitted` yet) until the gate opens.
    const a = await sup.submit({ agent: 'gate', input: { gate: g.path, label: 'a' } });
    await waitFor(() => sup.get(a)?.state === 'running', 'task a running');
    const b = await sup.submit({ agent: 'gate', input: { gate: g.path, label: 'b' } });
    expect(sup.get(b)?.state).toBe('queued');

    const client = await connect(url, `?taskId=${b}`);
    g.open();
    await sup.result(b);
    await waitFor(() => client.has('succeeded'), 'succeeded on the stream');

    const expected = events.filter((e) => 'taskId' in e && e.taskId === b && e.type !== 'submitted');
    expect(client.frames.map((f) => f.type)).toEqual(['started', 'progress', 'succeeded']);
    expect(client.frames.map((f) => f.data)).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(client.frames.at(-1)?.data).toMatchObject({ taskId: b, agent: 'gate', result: { label: 'b' } });
    expect(events.some((e) => e.type === 'succeeded' && e.taskId === a)).toBe(true); // there was another task to leave out
  });

  it('?agent streams only that agent’s task events', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') }, gate: { module: agentPath('gate') } } });
    const { url } = await serve(sup);
    const client = await connect(url, '?agent=echo');
    const g = gate();
    g.open();
    // The other agent's task finishes first: had its events leaked, they would be on the stream before echo's.
    await sup.result(await sup.submit({ agent: 'gate', input: { gate: g.path } }));
    const id = await sup.submit({ agent: 'echo', input: { n: 1 } });
    await sup.result(id);
    await waitFor(() => client.has('succeeded', id), 'echo succeeded on the stream');

    expect(client.frames.map((f) => f.type)).toEqual(['submitted', 'started', 'progress', 'log', 'progress', 'succeeded']);
    expect(client.frames.every((f) => f.data.agent === 'echo' && f.data.taskId === id)).toBe(true);
  });

  it('?type=succeeded,failed streams only those types (a list, or the parameter repeated)', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') }, fail: { module: agentPath('fail'), retry: { attempts: 1 } } }, breaker: false });
    const { url } = await serve(sup);
    const listed = await connect(url, '?type=succeeded,failed');
    const repeated = await connect(url, '?type=succeeded&type=failed');
    const first = await sup.submit({ agent: 'echo', input: 1 });
    await sup.result(first);
    const failing = await sup.submit({ agent: 'fail', input: { message: 'nope' } });
    await failure(sup, failing);
    const last = await sup.submit({ agent: 'echo', input: 2 }); // after `dead`: had it leaked, it would show before this
    await sup.result(last);

    for (const client of [listed, repeated]) {
      await waitFor(() => client.has('succeeded', last), 'the last succeeded on the stream');
      expect(client.frames.map((f) => [f.type, f.data.taskId])).toEqual([
        ['succeeded', first],
        ['failed', failing],
        ['succeeded', last],
      ]);
      expect(client.frames[1]?.data).toMatchObject({ agent: 'fail', dead: true, error: { code: 'E_FIXTURE', message: 'nope' } });
    }
  });

  it('?metricsMs pushes snapshot() as `metrics` events, beside the filtered events, until the client leaves', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    const { url } = await serve(sup);
    const client = await connect(url, '?type=succeeded&metricsMs=100');
    const id = await sup.submit({ agent: 'echo', input: 1 });
    await sup.result(id);
    await waitFor(() => client.frames.some((f) => f.type === 'metrics' && (f.data.counters as { succeeded: number }).succeeded === 1), 'a snapshot counting the task');
    const metrics = client.frames.filter((f) => f.type === 'metrics');
    expect(metrics[0]?.data).toHaveProperty('latency.endToEnd.p95');
    expect(metrics[0]?.data).toHaveProperty('alerts');
    expect(client.frames.filter((f) => f.type !== 'metrics').map((f) => [f.type, f.data.taskId])).toEqual([['succeeded', id]]);
    client.req.destroy();
    await waitFor(() => activeStreams() === 0, 'stream released with its timer');
  });

  it('answers a bad query with a 400 TROUPE_BAD_REQUEST naming the field, and opens no stream', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    const { url } = await serve(sup);
    const cases: [string, string, string][] = [
      ['?type=succeeded,bogus', 'query.type', '"succeeded,bogus"'],
      ['?type=', 'query.type', 'event types'],
      ['?tpye=succeeded', 'query.tpye', 'not a known option'],
      ['?taskId=', 'query.taskId', 'query.taskId'],
      ['?metricsMs=5', 'query.metricsMs', '100'],
    ];
    for (const [query, field, text] of cases) {
      const res = await fetch(`${url}/v1/events${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as { error: { code: string; message: string; details: { field: string } } };
      expect(body.error, query).toMatchObject({ code: 'TROUPE_BAD_REQUEST', details: { field } });
      expect(body.error.message, query).toContain(text);
    }
    expect(activeStreams()).toBe(0);
  });

  it('releases the subscription and the stream when the client disconnects', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    const observers = countObservers(sup);
    const { url } = await serve(sup);
    const leaving = await connect(url);
    const staying = await connect(url, '?type=succeeded');
    expect(observers()).toBe(2);
    expect(activeStreams()).toBe(2);

    leaving.req.destroy();
    await waitFor(() => observers() === 1 && activeStreams() === 1, 'one subscription released');
    const id = await sup.submit({ agent: 'echo', input: 1 });
    await waitFor(() => staying.has('succeeded', id), 'the other client still served');

    staying.req.destroy();
    await waitFor(() => observers() === 0 && activeStreams() === 0, 'every subscription released');
  });

  it('sends heartbeat comments while the stream is quiet, and stops its timer on disconnect', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    const { url } = await serve(sup, { heartbeatMs: 23 });
    const set = vi.spyOn(globalThis, 'setInterval');
    const cleared = vi.spyOn(globalThis, 'clearInterval');
    onTestFinished(() => (set.mockRestore(), cleared.mockRestore()));
    const client = await connect(url, '?taskId=none');
    await waitFor(() => client.comments.filter((c) => c === 'heartbeat').length >= 2, 'two heartbeats');
    expect(client.frames).toEqual([]);

    const timers = set.mock.calls.flatMap((call, i) => (call[1] === 23 ? [set.mock.results[i]!.value as unknown] : []));
    expect(timers).toHaveLength(1);
    client.req.destroy();
    await waitFor(() => cleared.mock.calls.some((call) => call[0] === timers[0]), 'the heartbeat timer cleared');
  });

  it('ends the stream after the stopped event when the runtime stops, and when the server closes', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    const observers = countObservers(sup);
    const { url } = await serve(sup);
    const client = await connect(url);
    await sup.shutdown({ timeoutMs: 0 });
    await waitFor(() => client.ended, 'the stream ended');
    expect(client.frames.map((f) => f.type).filter((t) => t !== 'pool')).toEqual(['draining', 'stopped']);
    expect(observers()).toBe(0);

    const other = await start({ agents: { echo: { module: agentPath('echo') } } });
    const second = await serve(other);
    const open = await connect(second.url);
    await second.app.close(); // would wait for ever on the open stream without the preClose hook
    await waitFor(() => open.ended, 'the stream ended by close');
    expect(activeStreams()).toBe(0);
  });

  it('delivers a burst of 2,000 submissions whole to a client that keeps reading: nothing dropped', async () => {
    const sup = await start({ agents: { noop: { module: agentPath('noop') } } });
    const { url } = await serve(sup);
    const client = await connect(url);
    // One tick emits 2,000 `submitted` events (~0.5 MB): far past the socket's 16 KiB high-water mark, within the budget.
    const ids = await sup.submitBatch(Array.from({ length: 2_000 }, (_, i) => ({ agent: 'noop', input: i })));
    await Promise.all(ids.map((id) => sup.result(id)));
    const succeeded = (): number => client.frames.filter((f) => f.type === 'succeeded').length;
    await waitFor(() => succeeded() === ids.length || client.has('dropped'), 'every succeeded on the stream (or a dropped frame)');

    expect(client.frames.filter((f) => f.type === 'dropped')).toEqual([]);
    expect(client.frames.filter((f) => f.type === 'submitted').map((f) => f.data.taskId)).toEqual(ids);
    expect(client.frames.filter((f) => f.type === 'succeeded').map((f) => f.data.taskId).sort()).toEqual([...ids].sort());
    expect(eventStreamStats()).toEqual([expect.objectContaining({ blocked: false, dropped: 0 })]);
  });

  it('drops events, and counts them, while a slow client’s socket is full: memory stays bounded', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    const budget = 64 * 1024;
    const { url } = await serve(sup, { maxBufferedBytes: budget });
    const client = await connect(url);
    client.res.pause();
    const big = 'x'.repeat(1 << 20); // each echo task then streams ~2 MiB (its log line and its result)
    const stats = (): EventStreamStats => eventStreamStats()[0]!;
    for (let i = 0; i < 64 && stats().dropped === 0; i++) await sup.result(await sup.submit({ agent: 'echo', input: big }));
    expect(stats().dropped).toBeGreaterThan(0);

    // Nothing is queued for a blocked client: its buffer never holds more than the budget and the one frame that filled it.
    const frameMax = big.length + 1024; // the log line or the result, with its SSE and chunked framing
    const first = stats().dropped;
    for (let i = 0; i < 16 && stats().dropped < first + 12; i++) {
      await sup.result(await sup.submit({ agent: 'echo', input: big }));
      expect(stats().blocked).toBe(true);
      expect(stats().buffered).toBeLessThan(budget + frameMax);
    }
    expect(stats().dropped).toBeGreaterThanOrEqual(first + 12);

    client.res.resume();
    const reported = (): number => client.frames.filter((f) => f.type === 'dropped').reduce((n, f) => n + (f.data.count as number), 0);
    await waitFor(() => !stats().blocked && reported() === stats().dropped, 'the drops reported to the client');
    const id = await sup.submit({ agent: 'echo', input: 'small' });
    await waitFor(() => client.has('succeeded', id), 'events flow again after the drain');
  });
});

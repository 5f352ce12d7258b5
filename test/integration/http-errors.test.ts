// The HTTP API's refusals (issue 19), against a real daemon on its socket and its TCP port: unknown
// routes are 404 TROUPE_NOT_FOUND, known paths with another method 405 with `Allow`, bodies of another
// type 415 naming both types, bodies over the limit 413 naming it, a missing token and a wrong one two
// different 401s; and GET /v1/openapi.json is an OpenAPI 3 document of every route.
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { callDaemon, type Endpoint } from '../../dist/daemon/client.js';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon, type RunningDaemon } from '../../dist/daemon/daemon.js';
import { prng } from '../chaos/prng.mjs';
import { agentPath, tempDir } from '../helpers.js';

const TOKEN = 'an-http-errors-token-of-some-length';
const BODY_LIMIT = 2048;

async function daemon(): Promise<{ url: string; tcp: Endpoint; socket: Endpoint; running: RunningDaemon }> {
  const file = join(tempDir(), 'troupe.config.json');
  writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', bodyLimitBytes: BODY_LIMIT, tcp: { port: 0, token: TOKEN }, agents: { echo: { module: agentPath('echo') } } }));
  const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return { url: running.url!, tcp: { url: running.url!, token: TOKEN }, socket: { socket: running.socket }, running };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: { code?: string; message?: string; details?: Record<string, unknown> } } & Record<string, unknown>;
}

/** One request with exactly these headers and this body (as text), on the TCP port or the socket. */
function send(target: { url: string } | { socket: string }, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const where = 'socket' in target ? { socketPath: target.socket } : { host: '127.0.0.1', port: Number(new URL(target.url).port) };
  const framed = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...where, agent: false, method, path, headers: framed }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Answer['body']) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
/** Every route of the API with its methods (HEAD comes with GET), as the OpenAPI document must list them. */
const ROUTES: Record<string, string[]> = {
  '/healthz': ['GET'],
  '/readyz': ['GET'],
  '/v1/tasks': ['GET', 'POST'],
  '/v1/tasks/{id}': ['GET'],
  '/v1/tasks/counts': ['GET'],
  '/v1/agents': ['GET'],
  '/v1/agents/{name}/pause': ['POST'],
  '/v1/agents/{name}/resume': ['POST'],
  '/v1/tasks/{id}/result': ['GET'],
  '/v1/tasks/{id}/tree': ['GET'],
  '/v1/tasks/{id}/cancel': ['POST'],
  '/v1/tasks/{id}/logs': ['GET'],
  '/v1/tasks/{id}/terminal': ['GET'],
  '/v1/tasks/{id}/terminal/input': ['POST'],
  '/v1/tasks/{id}/terminal/resize': ['POST'],
  '/v1/dead-letters': ['GET'],
  '/v1/dead-letters/redrive': ['POST'],
  '/v1/breakers': ['GET'],
  '/v1/breakers/{key}': ['PUT'],
  '/v1/pipelines': ['GET'],
  '/v1/snapshot': ['GET'],
  '/v1/graphs': ['POST'],
  '/v1/distribute': ['POST'],
  '/v1/plan': ['POST'],
  '/v1/events': ['GET'],
  '/metrics': ['GET'],
  '/v1/metrics/history': ['GET'],
  '/mcp': ['GET', 'POST', 'DELETE'],
};

describe('HTTP errors', () => {
  it('answers unknown routes 404 TROUPE_NOT_FOUND and other methods of a known path 405 with Allow (seeded fuzz, both listeners)', async () => {
    const d = await daemon();
    const rand = prng(19);
    const int = (n: number): number => Math.floor(rand() * n);
    const word = (): string => Array.from({ length: 1 + int(12) }, () => 'abcdefghijklmnopqrstuvwxyz0123456789-_.~'[int(40)]).join('');
    const unknown = (): string =>
      [() => `/v1/${word()}x`, () => `/v2/tasks`, () => `/v1/tasks/${word()}/${word()}x`, () => `/${word()}x/${word()}`, () => `/v1/breakers/a/b`, () => '/V1/TASKS', () => `/v1/tasks/${word()}/result/${word()}`][int(7)]!();
    const failures: string[] = [];
    for (let i = 0; i < 300; i += 1) {
      const target = i % 3 === 0 ? { socket: (d.socket as { socket: string }).socket } : { url: d.url };
      const method = METHODS[int(METHODS.length)]!;
      const path = unknown();
      const answer = await send(target, method, path, auth);
      if (answer.status !== 404 || answer.body.error?.code !== 'TROUPE_NOT_FOUND') failures.push(`${method} ${path} → ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    for (const [pattern, methods] of Object.entries(ROUTES)) {
      const path = pattern.replace('{id}', 'some-id').replace('{key}', 'agent:echo').replace('{name}', 'echo');
      for (const method of METHODS.filter((m) => !methods.includes(m))) {
        const answer = await send({ url: d.url }, method, path, auth);
        const allow = String(answer.headers.allow ?? '').split(', ').filter((m) => m !== 'HEAD');
        if (answer.status !== 405 || answer.body.error?.code !== 'TROUPE_METHOD_NOT_ALLOWED' || allow.sort().join() !== [...methods].sort().join()) {
          failures.push(`${method} ${path} → ${answer.status} allow=${String(answer.headers.allow)} ${JSON.stringify(answer.body)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    // An unknown id on a known route is still the more specific code.
    expect(await callDaemon(d.tcp, 'GET', '/v1/tasks/no-such-task')).toMatchObject({ status: 404, body: { error: { code: 'TROUPE_UNKNOWN_TASK' } } });
  });

  it('answers a body of another type 415 naming both types, and one over the limit 413 naming the limit and its option', async () => {
    const d = await daemon();
    for (const target of [{ url: d.url }, { socket: (d.socket as { socket: string }).socket }]) {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const answer = await send(target, 'POST', '/v1/tasks', { ...auth, 'content-type': type }, '{"agent":"echo"}');
        expect(answer).toMatchObject({ status: 415, body: { error: { code: 'TROUPE_UNSUPPORTED_MEDIA_TYPE', details: { field: 'headers.content-type', value: type } } } });
        expect(answer.body.error!.message).toContain(`"${type}"`);
        expect(answer.body.error!.message).toContain('application/json');
      }
      const big = JSON.stringify({ agent: 'echo', input: 'x'.repeat(BODY_LIMIT) });
      const answer = await send(target, 'POST', '/v1/tasks', { ...auth, 'content-type': 'application/json' }, big);
      expect(answer).toMatchObject({ status: 413, body: { error: { code: 'TROUPE_BODY_TOO_LARGE', details: { limitBytes: BODY_LIMIT } } } });
      expect(answer.body.error!.message).toContain(`${BODY_LIMIT} bytes`);
      expect(answer.body.error!.message).toContain('bodyLimitBytes');
    }
    // A bad parameter still names the field as written.
    expect(await callDaemon(d.tcp, 'GET', '/v1/tasks?limit=abc')).toMatchObject({ status: 400, body: { error: { code: 'TROUPE_BAD_REQUEST', details: { field: 'query.limit', value: 'abc' } } } });
    expect(await callDaemon(d.tcp, 'POST', '/v1/dead-letters/redrive', { ids: 3 })).toMatchObject({ status: 400, body: { error: { code: 'TROUPE_BAD_REQUEST', details: { field: 'body.ids' } } } });
  });

  it('tells a missing token from a wrong one', async () => {
    const d = await daemon();
    const missing = await send({ url: d.url }, 'GET', '/v1/tasks');
    const wrong = await send({ url: d.url }, 'GET', '/v1/tasks', { authorization: 'Bearer a-wrong-token-of-some-length' });
    const cookie = await send({ url: d.url }, 'GET', '/v1/tasks', { cookie: 'troupe_token=a-wrong-token-of-some-length' });
    expect(missing).toMatchObject({ status: 401, body: { error: { code: 'TROUPE_UNAUTHORIZED', details: { reason: 'missing' } } } });
    expect(wrong).toMatchObject({ status: 401, body: { error: { code: 'TROUPE_UNAUTHORIZED', details: { reason: 'wrong' } } } });
    expect(cookie).toMatchObject({ status: 401, body: { error: { code: 'TROUPE_UNAUTHORIZED', details: { reason: 'wrong' } } } });
    expect(missing.body.error!.message).not.toBe(wrong.body.error!.message);
    expect(missing.body.error!.message).toMatch(/no token/);
    expect(wrong.body.error!.message).toMatch(/bearer token is not this daemon's token/);
    expect(cookie.body.error!.message).toMatch(/troupe_token cookie is not this daemon's token/);
  });

  it("serves an OpenAPI 3 document of every route, with the error body declared, on each listener", async () => {
    const d = await daemon();
    const tcp = (await callDaemon(d.tcp, 'GET', '/v1/openapi.json')) as { status: number; body: { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> } };
    expect(tcp.status).toBe(200);
    const doc = tcp.body;
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: 'Troupe daemon', version: expect.any(String) });
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(ROUTES).sort());
    for (const [path, methods] of Object.entries(ROUTES)) {
      expect(Object.keys(doc.paths[path] ?? {}).map((m) => m.toUpperCase()).sort(), path).toEqual([...methods].sort());
      for (const method of methods) expect(doc.paths[path]![method.toLowerCase()]!.responses, `${method} ${path}`).toBeDefined();
    }
    // The task routes declare their answers and the error body; their parameters are named.
    const get = doc.paths['/v1/tasks/{id}']!.get as { parameters: { name: string; in: string }[]; responses: Record<string, { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }> };
    expect(get.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path' }));
    expect(Object.keys(get.responses['200']!.content['application/json']!.schema.properties!)).toEqual(expect.arrayContaining(['id', 'agent', 'state', 'input', 'result']));
    expect(get.responses['4XX']!.content['application/json']!.schema.properties).toHaveProperty('error');
    const list = doc.paths['/v1/tasks']!.get as { parameters: { name: string; in: string }[] };
    expect(list.parameters.map((p) => `${p.in}.${p.name}`)).toEqual(expect.arrayContaining(['query.state', 'query.agent', 'query.limit', 'query.after']));
    // The socket's document has the token routes, not the dashboard's login.
    const socket = (await callDaemon(d.socket, 'GET', '/v1/openapi.json')).body as { paths: Record<string, unknown> };
    expect(Object.keys(socket.paths)).toEqual(expect.arrayContaining(['/v1/token', '/v1/token/rotate', '/v1/tasks']));
    expect(Object.keys(doc.paths)).not.toContain('/v1/token');
  });

  it('serializes a task of every kind of payload unchanged (no field of TaskInfo stripped)', async () => {
    const d = await daemon();
    const input = { nested: { deep: [1, 'two', { three: null }] }, __proto__: null, big: 'y'.repeat(100) } as Record<string, unknown>;
    const { id } = (await callDaemon(d.tcp, 'POST', '/v1/tasks', { agent: 'echo', input, key: 'k-1', group: 'g', priority: 'high' })).body as { id: string };
    await callDaemon(d.tcp, 'GET', `/v1/tasks/${id}/result?waitMs=60000`);
    const task = (await callDaemon(d.tcp, 'GET', `/v1/tasks/${id}`)).body as Record<string, unknown>;
    expect(task).toMatchObject({ id, key: 'k-1', group: 'g', priority: 'high', state: 'succeeded', result: { input: { nested: { deep: [1, 'two', { three: null }] } } } });
    // Exactly what get() gives, every optional field included.
    expect(task).toEqual(JSON.parse(JSON.stringify(d.running.supervisor.get(id))));
    const listed = (await callDaemon(d.tcp, 'GET', '/v1/tasks')).body as { tasks: unknown[] };
    expect(listed.tasks).toEqual(JSON.parse(JSON.stringify(await d.running.supervisor.list({}))));
  });
});

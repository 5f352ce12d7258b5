// A bounded HTTP fuzzer (issue 15): some thousands of seeded requests against a real daemon, over its
// TCP listener (with and without the token) and its socket, on loopback only. Every answer must be a
// success or a 4xx whose JSON body has `error.code` TROUPE_…: no 5xx, no request left unanswered, no
// crash, and the daemon serves normally afterwards. No timings are asserted; the seed is fixed
// (TROUPE_FUZZ_SEED picks another), so a failure names a request that can be sent again.
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { callDaemon, type Endpoint } from '../../dist/daemon/client.js';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { prng } from '../chaos/prng.mjs';
import { agentPath, tempDir, tree } from '../helpers.js';

const TOKEN = 'a-fuzzing-token-of-some-length';
const SEED = Number(process.env.TROUPE_FUZZ_SEED ?? 15);
const REQUESTS = 2_500;
const IN_FLIGHT = 8;
const BODY_LIMIT = 64 * 1024;
/** Not a timing assertion: a request unanswered this long is reported as hung instead of hanging the test. */
const HUNG_MS = 60_000;
/** `constructor`, `toString`, `__proto__`, `hasOwnProperty`, `valueOf`, ...: names a plain-object lookup would find. */
const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype);

/** One request: through `node:http` (method, path, headers, body) or, with `raw`, as bytes on a TCP connection. */
interface Probe {
  what: string;
  via: 'tcp' | 'socket';
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** TCP requests carry the bearer token unless this is false. */
  auth?: boolean;
  body?: string;
  raw?: string;
  expect?: { status?: number; code?: string };
}

interface Answer {
  status: number;
  type: string;
  text: string;
}

interface Daemon {
  url: string;
  socket: string;
  tcp: Endpoint;
  local: Endpoint;
  planRoot: string;
}

/** A daemon as the other daemon tests start one: in this process, journal file, socket and TCP; stopped after the test. */
async function daemon(): Promise<Daemon> {
  const planRoot = tree({ 'pkg/a.py': 'import b\n', 'pkg/b.py': '' });
  const file = join(tempDir(), 'troupe.config.json');
  const config = {
    journal: 'j.db',
    socket: 't.sock',
    bodyLimitBytes: BODY_LIMIT,
    tcp: { port: 0, token: TOKEN, planRoots: [planRoot] },
    agents: { echo: { module: agentPath('echo') }, noop: { module: agentPath('noop') } },
    resources: { gpu: { concurrency: 1 } },
    groups: { tenant: { concurrency: 2 } },
    pool: { minThreads: 1, maxThreads: 2 },
  };
  writeFileSync(file, JSON.stringify(config));
  const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return { url: running.url!, socket: running.socket, tcp: { url: running.url!, token: TOKEN }, local: { socket: running.socket }, planRoot };
}

// ---------------------------------------------------------------------------------------------------
// Sending, and judging the answer

/** The answer after any interim `100 Continue`, from the bytes of a raw exchange. */
function parseRaw(text: string): Answer {
  const final = text.replace(/^(HTTP\/1\.1 1\d\d [^\r]*\r\n\r\n)+/, '');
  const [head = '', ...rest] = final.split('\r\n\r\n');
  const type = /^content-type: *([^\r]*)/im.exec(head)?.[1] ?? '';
  return { status: Number(head.split(' ')[1] ?? 0), type, text: rest.join('\r\n\r\n') };
}

/** Raw bytes, never half-closed (a client that stops sending may be given no answer): the daemon closes. */
function sendRaw(d: Daemon, raw: string): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(d.url).port), '127.0.0.1');
    let text = '';
    const hung = setTimeout(() => socket.destroy(new Error('hung')), HUNG_MS);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined); // the answer, or its absence, is what is judged
    socket.on('close', () => {
      clearTimeout(hung);
      resolve(text === '' ? { status: 0, type: '', text: 'connection closed without an answer' } : parseRaw(text));
    });
    socket.write(raw);
  });
}

function send(d: Daemon, probe: Probe): Promise<Answer> {
  if (probe.raw !== undefined) return sendRaw(d, probe.raw);
  const headers: Record<string, string> = { ...(probe.via === 'tcp' && probe.auth !== false ? { authorization: `Bearer ${TOKEN}` } : {}), ...probe.headers };
  if (probe.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  // Framed, whatever the method: Node sends the body of a GET or HEAD bare, which the daemon must take for a new request.
  if (probe.body !== undefined) headers['content-length'] = String(Buffer.byteLength(probe.body));
  const target = probe.via === 'socket' ? { socketPath: d.socket } : { host: '127.0.0.1', port: Number(new URL(d.url).port) };
  return new Promise((resolve) => {
    let answered = false;
    const done = (answer: Answer): void => {
      if (!answered) resolve(answer);
      answered = true;
    };
    const req = httpRequest({ ...target, agent: false, method: probe.method, path: probe.path, headers }, (res) => {
      const type = String(res.headers['content-type'] ?? '');
      // A live event stream is a success as soon as it starts: it is closed at once.
      if (type.startsWith('text/event-stream')) return res.destroy(), done({ status: res.statusCode ?? 0, type, text: '' });
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => done({ status: res.statusCode ?? 0, type, text }));
      res.on('error', () => done({ status: res.statusCode ?? 0, type, text }));
    });
    req.setTimeout(HUNG_MS, () => req.destroy(new Error('hung')));
    req.on('error', (err) => done({ status: 0, type: '', text: `no answer (${err.message})` }));
    req.end(probe.body);
  });
}

/** What is wrong with the answer to `probe`, or undefined when nothing is. */
function problem(probe: Probe, answer: Answer): string | undefined {
  if (answer.status === 0) return answer.text;
  if (answer.status >= 500) return `status ${answer.status}`;
  let code: unknown;
  // A browser's page request without the token gets the login page, not JSON (401 all the same).
  const loginPage = answer.status === 401 && answer.type.startsWith('text/html') && answer.text.includes('data-testid="login-form"');
  if (answer.status >= 400 && probe.method !== 'HEAD' && !loginPage) {
    let body: { error?: { code?: unknown; message?: unknown } } | undefined;
    try {
      body = JSON.parse(answer.text) as typeof body;
    } catch {
      return `status ${answer.status} without a JSON body`;
    }
    code = body?.error?.code;
    if (typeof code !== 'string' || !/^TROUPE_[A-Z_]+$/.test(code) || typeof body?.error?.message !== 'string') return `status ${answer.status} without error.code and error.message`;
  }
  if (answer.status < 300 && answer.type.startsWith('application/json') && probe.method !== 'HEAD') {
    try {
      JSON.parse(answer.text);
    } catch {
      return `status ${answer.status}: a JSON content type with a body that is not JSON`;
    }
  }
  if (probe.expect?.status !== undefined && answer.status !== probe.expect.status) return `status ${answer.status}, expected ${probe.expect.status}`;
  if (probe.expect?.code !== undefined && !loginPage && code !== probe.expect.code) return `code ${String(code)}, expected ${probe.expect.code}`;
  return undefined;
}

/** Percent-encoding, even of a lone surrogate (as the bytes of one: not valid UTF-8, which is the point). */
function enc(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text.split('').map((c) => (/[\ud800-\udfff]/.test(c) ? '%ED%A0%80' : encodeURIComponent(c))).join('');
  }
}

const clip = (text: string | undefined, n: number): string => (text === undefined ? '' : text.length > n ? `${text.slice(0, n)}… (${text.length} chars)` : text);

/** Sends the probes `IN_FLIGHT` at a time; returns one line per failure, naming the request and the answer. */
async function run(d: Daemon, next: (index: number) => Probe, count: number, onAnswer?: (probe: Probe, answer: Answer) => void): Promise<string[]> {
  const failures: string[] = [];
  for (let start = 0; start < count; start += IN_FLIGHT) {
    const probes = Array.from({ length: Math.min(IN_FLIGHT, count - start) }, (_, i) => next(start + i));
    const answers = await Promise.all(probes.map((p) => send(d, p)));
    probes.forEach((probe, i) => {
      const answer = answers[i]!;
      onAnswer?.(probe, answer);
      const wrong = problem(probe, answer);
      if (wrong === undefined) return;
      const request = probe.raw !== undefined ? JSON.stringify(clip(probe.raw, 120)) : `${probe.method} ${clip(probe.path, 100)} ${clip(probe.body, 120)}`;
      failures.push(`[${probe.what}] ${wrong} ← ${probe.via} ${request} → ${clip(answer.text, 200)}`);
    });
  }
  return failures;
}

/** The daemon still works: a valid submit and its result, over TCP and over the socket. */
async function servesNormally(d: Daemon): Promise<void> {
  for (const endpoint of [d.tcp, d.local]) {
    for (const key of ['agent:echo', 'resource:gpu']) await callDaemon(endpoint, 'PUT', `/v1/breakers/${key}`, { state: 'closed' }); // the fuzz may force them open
    const submitted = await callDaemon(endpoint, 'POST', '/v1/tasks', { agent: 'echo', input: { after: 'fuzz' } });
    expect(submitted.status).toBe(201);
    const id = (submitted.body as { id: string }).id;
    const done = await callDaemon(endpoint, 'GET', `/v1/tasks/${id}/result?waitMs=60000`);
    expect(done).toMatchObject({ status: 200, body: { done: true, state: 'succeeded', result: { input: { after: 'fuzz' } } } });
  }
  expect(await callDaemon(d.tcp, 'GET', '/healthz')).toMatchObject({ status: 200 });
}

// ---------------------------------------------------------------------------------------------------
// Generators

type Rand = () => number;

function generators(rand: Rand, d: Daemon, ids: readonly string[]) {
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chance = (p: number): boolean => rand() < p;
  const NAMES = ['echo', 'noop', 'gpu', 'tenant', 'nobody', '', ' ', 'ECHO', 'echo ', 'é', '💥', '\u0000', '\ud800', 'a'.repeat(300), '../echo', 'agent:echo', 'resource:gpu', '%', 'null'];
  const ascii = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(0x21 + int(94))).join('');
  const text = (): string => pick([() => pick(NAMES), () => ascii(int(40)), () => 'x'.repeat(int(2_000)), () => '\u202e\u0000\ud83d\u00ff', () => '../../../../etc/passwd'])();
  const id = (): string => (ids.length > 0 && chance(0.5) ? pick(ids) : pick([text(), '01a250cc-396e-7000-813f-4b140378a06e', '0', '-1']));
  const FIELDS = ['agent', 'input', 'priority', 'resources', 'key', 'group', 'retry', 'timeoutMs', 'stallTimeoutMs', 'dependsOn', 'onParentFailure', 'cacheKey', 'cacheTtlMs', 'name', 'estimatedMs'];
  /** Any JSON value: every type, odd numbers and strings, a few levels of arrays and objects (field names among the keys). */
  const value = (depth = 0): unknown => {
    const kinds = depth > 3 ? 5 : 8;
    switch (int(kinds)) {
      case 0: return null;
      case 1: return chance(0.5);
      case 2: return pick([0, -1, 1.5, 1e308, -0, 2 ** 64, Number.MAX_SAFE_INTEGER + 2, 60_001]);
      case 3: return text();
      case 4: return pick(NAMES);
      case 5: return Array.from({ length: int(5) }, () => value(depth + 1));
      case 6: return Object.fromEntries(Array.from({ length: int(5) }, () => [pick([...FIELDS, text()]), value(depth + 1)]));
      default: return pick([[], {}, [[]], { a: {} }]);
    }
  };
  const task = (): Record<string, unknown> => {
    const t: Record<string, unknown> = { agent: pick(['echo', 'echo', 'noop']), input: value() };
    if (chance(0.2)) t.priority = pick(['critical', 'high', 'normal', 'low']);
    if (chance(0.2)) t.resources = ['gpu'];
    if (chance(0.2)) t.group = pick(['tenant', 'other']);
    if (chance(0.1)) t.key = ascii(1 + int(20));
    if (chance(0.1) && ids.length > 0) t.dependsOn = [pick(ids)];
    return t;
  };
  /** A valid task with one thing wrong: a field of a random type, or an unknown field. */
  const mutated = (): { body: Record<string, unknown>; unknown: boolean } => {
    const body = task();
    if (chance(0.3)) {
      body[`${pick(FIELDS)}${pick(['x', 's', '_', ' '])}`] = value();
      return { body, unknown: true };
    }
    body[pick(FIELDS)] = value();
    return { body, unknown: false };
  };
  const deep = (levels: number, leaf = '1'): string => (chance(0.5) ? `${'['.repeat(levels)}${leaf}${']'.repeat(levels)}` : `${'{"a":'.repeat(Math.min(levels, 10_000))}${leaf}${'}'.repeat(Math.min(levels, 10_000))}`);
  const via = (): 'tcp' | 'socket' => (chance(0.7) ? 'tcp' : 'socket');
  // Well-formed paths: a malformed one is refused first (400), whatever the body.
  const posts = ['/v1/tasks', '/v1/graphs', '/v1/plan', '/v1/dead-letters/redrive', '/v1/tasks/01a250cc-396e-7000-813f-4b140378a06e/cancel'];
  /** A path of the API, or one near it. */
  const path = (): string =>
    pick([
      () => pick(['/v1/tasks', '/v1/graphs', '/v1/plan', '/v1/dead-letters', '/v1/dead-letters/redrive', '/v1/breakers', '/v1/pipelines', '/v1/snapshot', '/healthz', '/readyz', '/metrics', '/', '/dashboard/app.js']),
      () => `/v1/tasks/${enc(id())}${pick(['', '/result', '/cancel', '/result?waitMs=0', '/nope'])}`,
      () => `/v1/breakers/${enc(pick(['agent:echo', 'resource:gpu', text()]))}`,
      () => `/dashboard/${enc(text())}`,
      () => pick(['/v1//tasks', '/v1/tasks/', '/v1/tasks/%', '/v1/tasks/%E0%A4%A', '/%2e%2e/%2e%2e/etc/passwd', '/v1/tasks/..%2F..%2F', '/V1/TASKS', '/v2/tasks', '/v1']),
      () => `/v1/${ascii(int(4_000))}`.replace(/[?#]/g, '_'),
      () => `/v1/tasks?${pick(['limit=abc', 'limit=-1', 'limit=1&limit=2', 'state=nope', 'after=', '&&==&', 'a[b]=c', 'limit[]=1', '%=%', `agent=${enc(text())}`, `group=${enc(text())}`, 'limit=1e309', 'limit=100000'])}`,
      () => `/v1/dead-letters?${pick(['agent=echo', 'limit=x', 'agent=', 'nope=1', `agent=${enc(text())}`])}`,
      () => `/v1/events?${pick(['type=nope', 'type=', 'type=,,', 'metricsMs=1', 'metricsMs=abc', 'nope=1', 'taskId=', 'type=succeeded', 'metricsMs=100'])}`,
      () => `/v1/tasks/${enc(id())}/result?waitMs=${pick(['0', '1', '50', '-1', '60001', 'abc', '1e3', '', '0x10'])}`,
    ])();

  /** Each case, by the kind of wrongness it sends. */
  const cases: Array<() => Probe> = [
    // A valid task with one thing wrong.
    () => {
      const { body, unknown } = mutated();
      return { what: 'mutated task', via: via(), method: 'POST', path: '/v1/tasks', body: JSON.stringify(body), ...(unknown && { expect: { status: 400, code: 'TROUPE_INVALID_TASK' } }) };
    },
    // Valid tasks, single, batched or as a graph: the daemon must keep accepting real work meanwhile.
    () => {
      const many = chance(0.3);
      const body = many ? Array.from({ length: 1 + int(20) }, task) : task();
      return { what: 'valid task', via: via(), method: 'POST', path: '/v1/tasks', body: JSON.stringify(body) };
    },
    () => ({ what: 'graph', via: via(), method: 'POST', path: '/v1/graphs', body: JSON.stringify({ tasks: Array.from({ length: int(5) }, (_, i) => ({ ...task(), name: chance(0.8) ? `n${i}` : value(), ...(i > 0 && chance(0.5) && { dependsOn: [`n${int(i + 1)}`] }) })) }) }),
    // Malformed JSON.
    () => ({
      what: 'malformed JSON',
      via: via(),
      method: 'POST',
      path: pick(posts),
      body: pick(['{', '{"agent":', '{"agent":"echo",}', "{'agent':'echo'}", '{"agent":"echo"}}', 'NaN', '{"a":NaN}', '[1,2', 'undefined', '{"agent":"\\x41"}', '{"a":"\\ud800"', '"', `{{${ascii(int(200))}`, '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}']),
      expect: { status: 400, code: 'TROUPE_BAD_REQUEST' },
    }),
    // Wrong types and shapes on every body-taking route.
    () => ({ what: 'wrong types', via: via(), method: chance(0.8) ? 'POST' : 'PUT', path: chance(0.8) ? pick(posts) : `/v1/breakers/${enc(pick(['agent:echo', text()]))}`, body: JSON.stringify(value()) ?? 'null' }),
    () => ({ what: 'plan options', via: 'tcp', method: 'POST', path: '/v1/plan', body: JSON.stringify({ dir: pick([d.planRoot, join(d.planRoot, 'pkg'), '/', '/etc', `${d.planRoot}/..`, text(), value()]), agent: pick(['echo', value()]), ...(chance(0.5) && { tsconfig: pick(['../../etc/passwd', '/etc/passwd', 'x.json', value()]) }), ...(chance(0.3) && { [text()]: value() }) }) }),
    () => ({ what: 'plan over the socket', via: 'socket', method: 'POST', path: '/v1/plan', body: JSON.stringify({ dir: pick([join(d.planRoot, 'pkg'), join(d.planRoot, 'missing'), '']), agent: pick(['echo', '', value()]) }) }),
    () => ({ what: 'redrive', via: via(), method: 'POST', path: '/v1/dead-letters/redrive', body: JSON.stringify({ ids: chance(0.5) ? [id()] : id(), ...(chance(0.5) && { input: value() }) }) }),
    () => ({ what: 'breaker', via: via(), method: 'PUT', path: `/v1/breakers/${enc(pick(['agent:echo', 'resource:gpu', 'echo', text()]))}`, body: JSON.stringify({ state: pick(['open', 'closed', 'half-open', value()]) }) }),
    // Huge values within the body limit, deep values however deep the limit lets them be.
    () => ({ what: 'huge value', via: via(), method: 'POST', path: '/v1/tasks', body: JSON.stringify({ agent: 'echo', input: pick([() => 'x'.repeat(BODY_LIMIT - 100), () => Array.from({ length: 10_000 }, (_, i) => i), () => Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, i]))])() }) }),
    () => ({ what: 'huge field', via: via(), method: 'POST', path: '/v1/tasks', body: JSON.stringify({ agent: pick(['x'.repeat(BODY_LIMIT - 100), 'echo']), resources: Array.from({ length: 5_000 }, () => 'gpu'), key: 'k'.repeat(600) }) }),
    () => ({ what: 'deep input', via: via(), method: 'POST', path: '/v1/tasks', body: `{"agent":"echo","input":${deep(101 + int(29_000))}}`, expect: { status: 400, code: 'TROUPE_INVALID_TASK' } }),
    () => ({ what: 'deep elsewhere', via: via(), method: pick(['POST', 'PUT']), path: pick([...posts, '/v1/breakers/agent:echo']), body: `{"${pick([...FIELDS, 'tasks', 'ids', 'dir', 'state'])}":${deep(50 + int(29_000))}}` }),
    () => ({ what: 'deep batch', via: via(), method: 'POST', path: pick(['/v1/tasks', '/v1/graphs']), body: pick([deep(5_000 + int(20_000)), `{"tasks":[{"name":"a","agent":"echo","input":${deep(101 + int(10_000))}}]}`]) }),
    // Bodies over the limit.
    () => ({ what: 'oversize body', via: via(), method: 'POST', path: pick(posts), body: JSON.stringify({ agent: 'echo', input: 'x'.repeat(BODY_LIMIT + int(BODY_LIMIT)) }), expect: { status: 413, code: 'TROUPE_BODY_TOO_LARGE' } }),
    // Bad content types.
    () => ({
      what: 'content type',
      via: via(),
      method: 'POST',
      path: pick(posts),
      headers: { 'content-type': pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json; charset=utf-16', 'application/jsonx', '*/*', 'application/json;;', 'text/html', 'application/xml', '']) },
      body: pick(['{"agent":"echo"}', 'agent=echo', '<x/>', '']),
    }),
    // Methods and paths.
    () => ({ what: 'method and path', via: via(), method: pick(['GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE']), path: path(), ...(chance(0.3) && { body: JSON.stringify(value()) }) }),
    // Tokens and hosts on the TCP listener.
    () => ({
      what: 'bad token',
      via: 'tcp',
      method: pick(['GET', 'POST']),
      path: pick(['/v1/tasks', '/metrics', '/', '/v1/snapshot', `/?token=${enc(pick(['', 'wrong', TOKEN.slice(1), `${TOKEN} `]))}`]),
      auth: false,
      headers: pick<Record<string, string>>([
        {},
        { authorization: 'Bearer' },
        { authorization: 'Bearer ' },
        { authorization: `bearer ${TOKEN}` },
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
        { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
        { authorization: `Bearer ${'t'.repeat(8_000)}` },
        { authorization: `Bearer \u00ff${TOKEN}` },
        { cookie: 'troupe_token=wrong' },
        { cookie: 'troupe_token=%E0%A4%A' },
        { cookie: `troupe_token=${TOKEN.slice(1)}; other=1` },
        { host: 'evil.example', authorization: `Bearer ${TOKEN}` },
        { host: '127.0.0.1.evil.example', authorization: `Bearer ${TOKEN}` },
      ]),
      expect: { status: 401, code: 'TROUPE_UNAUTHORIZED' },
    }),
    // Requests Node's HTTP parser refuses, or just accepts, on the raw connection.
    () => {
      const auth = `Host: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n`;
      const raw = pick([
        `FOO /v1/tasks HTTP/1.1\r\n${auth}\r\n`,
        `GARBAGE\r\n\r\n`,
        `GET /v1/tasks HTTP/9.9\r\n${auth}\r\n`,
        `GET /v1/tasks HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
        `GET /v1/tasks HTTP/1.1\r\n${auth}NoColon\r\n\r\n`,
        `GET /v1/tasks HTTP/1.1\r\n${auth}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        `GET /v1/${'a'.repeat(20_000)} HTTP/1.1\r\n${auth}\r\n`,
        `GET /v1/ta sks HTTP/1.1\r\n${auth}\r\n`,
        `GET /v1/tasks/%E0%A4%A HTTP/1.1\r\n${auth}\r\n`,
        `GET /v1/tasks HTTP/1.1\r\n${auth}X-Nul: a\u0000b\r\n\r\n`,
        `GET /v1/tasks HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
        `POST /v1/tasks HTTP/1.1\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n`,
        `POST /v1/tasks HTTP/1.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 16\r\nTransfer-Encoding: chunked\r\n\r\n{"agent":"echo"}`,
        `POST /v1/tasks HTTP/1.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 16\r\nContent-Length: 17\r\n\r\n{"agent":"echo"}`,
        `POST /v1/tasks HTTP/1.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 5\r\n\r\n{"agent":"echo"}`,
        `POST /v1/tasks HTTP/1.1\r\n${auth}Content-Type: application/json\r\nContent-Length: -1\r\n\r\n`,
        `POST /v1/tasks HTTP/1.1\r\n${auth}Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 16\r\n\r\n{"agent":"echo"}`,
        `POST /v1/tasks HTTP/1.1\r\n${auth}Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 16\r\n\r\n{"agent":"echo"}`,
        `GET /v1/tasks HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer ${TOKEN}\nConnection: close\n\n`,
      ]);
      return { what: 'raw HTTP', via: 'tcp', method: 'RAW', path: '', raw };
    },
  ];
  return { cases, pick };
}

describe('HTTP fuzzing (seeded, bounded, loopback)', () => {
  it(`answers ${REQUESTS} malformed, mistyped, huge, deep, unauthorised and odd requests with a success or a 4xx TROUPE_ error, and serves normally after`, async () => {
    const d = await daemon();
    const rand = prng(SEED);
    const ids: string[] = [];
    const { cases, pick } = generators(rand, d, ids);
    const seen = new Map<string, number>();
    const failures = await run(d, () => pick(cases)(), REQUESTS, (probe, answer) => {
      seen.set(probe.what, (seen.get(probe.what) ?? 0) + 1);
      // Accepted ids feed later requests (get, wait, cancel, redrive, dependsOn).
      if (answer.status === 201 && ids.length < 200) {
        const body = JSON.parse(answer.text) as { id?: string; ids?: string[] | Record<string, string> };
        ids.push(...[body.id ?? [], Object.values(body.ids ?? {})].flat());
      }
    });
    expect(failures, `seed ${SEED}: ${failures.length} bad answers (of ${REQUESTS}; by kind ${JSON.stringify(Object.fromEntries(seen))}):\n${failures.slice(0, 40).join('\n')}`).toEqual([]);
    expect(seen.size).toBe(cases.length); // every kind of case was sent
    await servesNormally(d);
  }, 240_000);

  // Names a plain-object lookup finds on Object.prototype must be unknown names like any other.
  it('treats the names of Object.prototype as unknown agents, resources, tasks, breakers, parameters and fields everywhere', async () => {
    const d = await daemon();
    const probes: Probe[] = PROTO_NAMES.flatMap((name): Probe[] => {
      const post = (path: string, body: unknown, expected?: Probe['expect'], what = path): Probe => ({ what: `${what} ${name}`, via: 'tcp', method: 'POST', path, body: JSON.stringify(body), ...(expected && { expect: expected }) });
      const get = (path: string, expected?: Probe['expect'], what = path.replace(enc(name), ':name')): Probe => ({ what: `GET ${what} ${name}`, via: 'tcp', method: 'GET', path, ...(expected && { expect: expected }) });
      const field = name === '__proto__' ? { status: 400, code: 'TROUPE_BAD_REQUEST' } : undefined; // a __proto__ key: refused by the JSON parser
      return [
        get(`/v1/tasks/${enc(name)}`, { status: 404, code: 'TROUPE_UNKNOWN_TASK' }),
        get(`/v1/tasks/${enc(name)}/result?waitMs=0`, { status: 404, code: 'TROUPE_UNKNOWN_TASK' }),
        post(`/v1/tasks/${enc(name)}/cancel`, undefined, { status: 404, code: 'TROUPE_UNKNOWN_TASK' }, 'cancel'),
        post('/v1/dead-letters/redrive', { ids: [name] }, { status: 404, code: 'TROUPE_UNKNOWN_TASK' }),
        ...[name, `agent:${name}`, `resource:${name}`].map((key): Probe => ({ what: `PUT breaker ${key}`, via: 'tcp', method: 'PUT', path: `/v1/breakers/${enc(key)}`, body: '{"state":"open"}', expect: { status: 404, code: 'TROUPE_UNKNOWN_BREAKER' } })),
        get(`/v1/tasks?agent=${enc(name)}`, { status: 200 }),
        get(`/v1/tasks?state=${enc(name)}`),
        get(`/v1/tasks?${enc(name)}=1`, { status: 400, code: 'TROUPE_BAD_REQUEST' }),
        get(`/v1/dead-letters?agent=${enc(name)}`, { status: 200 }),
        get(`/v1/events?type=${enc(name)}`, { status: 400, code: 'TROUPE_BAD_REQUEST' }),
        get(`/v1/events?${enc(name)}=1`, { status: 400, code: 'TROUPE_BAD_REQUEST' }),
        get(`/dashboard/${enc(name)}`, { status: 404, code: 'TROUPE_NOT_FOUND' }),
        post('/v1/tasks', { agent: 'echo', [name]: 1 }, field ?? { status: 400, code: 'TROUPE_INVALID_TASK' }, 'task field'),
        post('/v1/plan', { dir: d.planRoot, agent: 'echo', [name]: 1 }, field ?? { status: 400, code: 'TROUPE_INVALID_PLAN' }, 'plan option'),
        post('/v1/graphs', { tasks: [{ name: 'x', agent: 'echo', dependsOn: [name] }] }, { status: 400, code: 'TROUPE_UNKNOWN_DEPENDENCY' }, 'graph parent'),
        post('/v1/tasks', { agent: 'echo', group: name }, { status: 201 }, 'group'),
        post('/v1/graphs', { tasks: [{ name, agent: 'echo' }] }, { status: 201 }, 'graph task name'),
      ];
    });
    // Last: these names reach the runtime's configuration lookups (a wrong answer there may disturb what follows).
    const lookups = PROTO_NAMES.flatMap((name): Probe[] => [
      { what: `agent ${name}`, via: 'tcp', method: 'POST', path: '/v1/tasks', body: JSON.stringify({ agent: name }), expect: { status: 400, code: 'TROUPE_UNKNOWN_AGENT' } },
      { what: `batch agent ${name}`, via: 'socket', method: 'POST', path: '/v1/tasks', body: JSON.stringify([{ agent: 'echo' }, { agent: name }]), expect: { status: 400, code: 'TROUPE_UNKNOWN_AGENT' } },
      { what: `graph agent ${name}`, via: 'tcp', method: 'POST', path: '/v1/graphs', body: JSON.stringify({ tasks: [{ name: 'x', agent: name }] }), expect: { status: 400, code: 'TROUPE_UNKNOWN_AGENT' } },
      { what: `resource ${name}`, via: 'tcp', method: 'POST', path: '/v1/tasks', body: JSON.stringify({ agent: 'echo', resources: [name] }), expect: { status: 400, code: 'TROUPE_UNKNOWN_RESOURCE' } },
    ]);
    const graphNames: Array<[string, Answer]> = [];
    const failures = await run(d, (i) => probes[i]!, probes.length, (probe, answer) => {
      if (probe.what.startsWith('graph task name') && answer.status === 201) graphNames.push([probe.what.slice('graph task name '.length), answer]);
    });
    failures.push(...(await run(d, (i) => lookups[i]!, lookups.length)));
    const all = [...probes, ...lookups];
    // A graph task may be named so: the answer's ids carry the name as a key of their own.
    for (const [name, answer] of graphNames) {
      const { ids } = JSON.parse(answer.text) as { ids: Record<string, unknown> };
      if (!Object.hasOwn(ids, name) || typeof ids[name] !== 'string') failures.push(`[graph task name ${name}] ids lack the name: ${answer.text}`);
    }
    expect(failures, `${failures.length} bad answers (of ${all.length}):\n${failures.join('\n')}`).toEqual([]);
    await servesNormally(d);
  }, 120_000);
});

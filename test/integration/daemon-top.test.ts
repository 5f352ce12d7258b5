import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import pino from 'pino';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { callDaemon } from '../../dist/daemon/client.js';
import { renderTop, throughput } from '../../dist/daemon/top.js';
import type { MetricsSnapshot } from '../../dist/actors/metrics/metrics-state.js';
import { agentPath, tempDir } from '../helpers.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

function troupe(socket: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, TROUPE_SOCKET: socket } }, (error, out, err) => {
      done({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), out: out.trim(), err: err.trim() });
    });
  });
}

const latency = (p50: number, p95: number, p99: number) => ({ count: 40, mean: p50, p50, p95, p99, max: p99 + 1 });

function snapshot(): MetricsSnapshot {
  return {
    at: Date.UTC(2025, 0, 1, 12, 0, 10),
    counters: { submitted: 57, started: 45, succeeded: 40, failed: 3, retried: 2, dead: 1, timedOut: 0, stalled: 0, redriven: 0, cancelled: 4, requeued: 0, cacheHits: 0, cacheMisses: 0, deduplicated: 0 },
    queue: { depth: 12, byPriority: { critical: 1, high: 2, normal: 4, low: 5 }, delayed: 6, blocked: 0, dead: 7 },
    running: 9,
    pool: { size: 3, target: 4, minThreads: 2, maxThreads: 8, busy: 2, utilisation: 0.5, processes: 5, threadIds: [1, 2, 3] },
    latency: { queueWait: latency(1.25, 3.5, 7.75), run: latency(11, 22, 33), endToEnd: latency(12.5, 25.5, 40.25) },
    breakers: { 'agent:echo': 'closed', 'agent:bad': 'open', 'resource:db': 'half-open' },
    actors: { restarts: { queue: 0, agent: 0, breaker: 0, metrics: 0 } },
    recovery: null,
    journal: null,
    rateLimits: {},
    durations: { bucketsSeconds: [], byAgent: {} },
    byAgent: {},
    throughput: { '1s': 0, '10s': 0, '60s': 0 },
    alerts: [{ alert: 'breaker-open', key: 'agent:bad', value: 1, threshold: 1, message: 'breaker agent:bad is open', since: Date.UTC(2025, 0, 1, 12, 0, 5) }],
  };
}

const breakers = {
  'agent:echo': { state: 'closed' as const, forced: false },
  'agent:bad': { state: 'open' as const, forced: true },
  'resource:db': { state: 'half-open' as const, forced: false },
};

describe('renderTop (pure)', () => {
  it('shows queue, running, counters, latency, threads and breakers not closed', () => {
    const lines = renderTop(snapshot(), breakers);
    const find = (prefix: string): string => lines.find((l) => l.startsWith(prefix)) ?? '';
    expect(find('queue')).toBe('queue       depth 12  critical 1  high 2  normal 4  low 5');
    expect(lines).toContain('            delayed 6  dead letters 7');
    expect(find('running')).toBe('running     9');
    expect(find('tasks')).toMatch(/submitted 57 {2}succeeded 40 {2}failed 3 {2}retried 2 {2}dead 1 {2}cancelled 4/);
    expect(find('throughput')).toBe('throughput  - succeeded/s');
    expect(find('  queue wait').split(/\s+/).slice(3, 6)).toEqual(['1.25', '3.50', '7.75']);
    expect(find('  run').split(/\s+/).slice(2, 5)).toEqual(['11.0', '22.0', '33.0']);
    expect(find('  end to end').split(/\s+/).slice(4, 7)).toEqual(['12.5', '25.5', '40.3']);
    expect(find('threads')).toBe('threads     size 3  target 4  min 2  max 8  busy 2');
    expect(find('utilisation')).toMatch(/^utilisation \[(#+)(\.+)\] 50%$/);
    const [, hashes, dots] = /\[(#+)(\.+)\]/.exec(find('utilisation'))!;
    expect(hashes!.length).toBe(dots!.length);
    expect(find('processes')).toBe('processes   5');
    expect(find('alerts')).toBe('alerts      firing:');
    expect(lines).toContain('  breaker-open  breaker agent:bad is open');
    expect(lines).toContain('  agent:bad  open (forced)');
    expect(lines).toContain('  resource:db  half-open');
    expect(lines.join('\n')).not.toContain('agent:echo');
    expect(lines.join('\n')).not.toMatch(/\x1b/);
    expect(lines.every((l) => l.length <= 80)).toBe(true);
  });

  it('computes throughput from the previous poll, fits narrow widths, says when all breakers are closed', () => {
    const s = snapshot();
    const lines = renderTop(s, {}, { at: s.at - 2000, succeeded: 15 });
    expect(lines).toContain('throughput  12.5 succeeded/s');
    expect(throughput({ at: 1000, succeeded: 5 }, { at: 1000, succeeded: 1 })).toBeUndefined();
    expect(throughput({ at: 2000, succeeded: 5 }, { at: 1000, succeeded: 9 })).toBe(0);
    const closed = { ...s, breakers: {}, alerts: [] };
    expect(renderTop(closed, { 'agent:echo': { state: 'closed', forced: false } })).toContain('breakers    all closed');
    expect(renderTop(closed, {})).toContain('alerts      none firing');
    expect(renderTop(s, breakers, undefined, 30).every((l) => l.length <= 30)).toBe(true);
  });
});

// Six runs of the binary, a Node start-up each: 32 s at a load of 14 on 2 cores. A ceiling past that.
describe('troupe top (the built binary over the socket)', { timeout: 240_000 }, () => {
  it('--once shows the daemon figures, --json --once the raw snapshot, exit 4 without a daemon', async () => {
    const dir = tempDir();
    const file = join(dir, 'troupe.config.json');
    writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', pool: { minThreads: 1, maxThreads: 3 }, agents: { echo: { module: agentPath('echo') } } }));
    const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
    onTestFinished(() => running.stop());
    const socket = running.socket;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(((await callDaemon({ socket }, 'POST', '/v1/tasks', { agent: 'echo', input: i })).body as { id: string }).id);
    expect(await troupe(socket, 'wait', ...ids)).toMatchObject({ code: 0 });

    const once = await troupe(socket, 'top', '--once', '--interval', '50');
    expect(once.code).toBe(0);
    expect(once.out).not.toMatch(/\x1b/);
    const lines = once.out.split('\n');
    expect(lines.find((l) => l.startsWith('tasks'))).toMatch(/submitted 5 {2}succeeded 5 {2}failed 0/);
    expect(lines).toContain('throughput  0.0 succeeded/s');
    expect(lines.find((l) => l.startsWith('threads'))).toMatch(/^threads {5}size \d+ {2}target \d+ {2}min 1 {2}max 3 {2}busy 0$/);
    expect(lines).toContain('queue       depth 0  critical 0  high 0  normal 0  low 0');
    expect(lines).toContain('breakers    all closed');

    const json = await troupe(socket, 'top', '--json', '--once');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ counters: { submitted: 5, succeeded: 5 }, pool: { minThreads: 1, maxThreads: 3 } });

    expect(await troupe(socket, 'top', '--help')).toMatchObject({ code: 0, out: expect.stringContaining('troupe top') });
    expect(await troupe(socket, 'top', '--once', '--interval', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('--interval') });
    expect(await troupe(join(tempDir(), 'none.sock'), 'top', '--once')).toMatchObject({ code: 4, err: expect.stringContaining('cannot reach the daemon') });
  });
});

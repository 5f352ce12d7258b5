import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import pino from 'pino';
import { exampleConfig } from '../../dist/daemon/example.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { callDaemon, type Endpoint } from '../../dist/daemon/client.js';
import { manualClock, record, tempDir, waitFor } from '../helpers.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
const TOKEN = 'a-token-of-sufficient-length';
const H = 'agent:hash';

function troupe(socket: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, TROUPE_SOCKET: socket } }, (error, out) => {
      done({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), out: out.trim() });
    });
  });
}

// Issue 13: bad `hash` submissions (no resources) opened agent:hash; every later `hash` task holds
// cpu, and their outcomes counted against cpu alone, so agent:hash stayed half-open for ever and
// ran one task at a time. The example daemon's configuration, on a manual clock, without its feed.
describe('example daemon: the hash breaker after bad submissions', () => {
  it('opens on bad hash tasks, holds the cpu ones (status says so), then closes after its trial and runs them all', async () => {
    const clock = manualClock();
    const config = exampleConfig({ TROUPE_STATE_DIR: tempDir(), TROUPE_TOKEN: TOKEN });
    config.tcp = { host: '127.0.0.1', port: 0, token: TOKEN };
    // Three bad submissions open it (the example keeps the default of five failures with retries).
    config.runtime = { ...config.runtime, clock, breaker: { failureThreshold: 3 } };
    const running = await startDaemon(config, pino({ level: 'silent' }));
    onTestFinished(() => running.stop());
    const events = record(running.supervisor);
    const http: Endpoint = { url: running.url!, token: TOKEN };
    const submit = async (body: unknown): Promise<string> => {
      const res = await callDaemon(http, 'POST', '/v1/tasks', body);
      expect(res.status).toBe(201);
      return (res.body as { id: string }).id;
    };
    const outcome = async (id: string): Promise<{ state: string }> => (await callDaemon(http, 'GET', `/v1/tasks/${id}/result?waitMs=60000`)).body as { state: string };
    const hashBreaker = async (): Promise<{ state: string }> =>
      ((await callDaemon(http, 'GET', '/v1/breakers')).body as { breakers: Record<string, { state: string }> }).breakers[H]!;
    const story = (): string[] => events.flatMap((e) => (e.type === 'breaker' && e.key === H ? [e.state] : []));

    // `hash` hashes `text`: without it, createHash().update(undefined) throws.
    for (let i = 0; i < 3; i += 1) expect(await outcome(await submit({ agent: 'hash', input: { rounds: 1 }, retry: { attempts: 1 } }))).toMatchObject({ state: 'dead' });
    await waitFor(() => story().includes('open'), 'agent:hash open');
    expect(await hashBreaker()).toMatchObject({ state: 'open' });

    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) ids.push(await submit({ agent: 'hash', input: { text: `block-${i}`, rounds: 500 }, resources: ['cpu'] }));
    expect((await callDaemon(http, 'GET', `/v1/tasks/${ids[0]}`)).body).toMatchObject({ state: 'queued', heldBy: { breaker: H, state: 'open', halfOpenAt: expect.any(Number) } });
    const status = await troupe(running.socket, 'status', ids[0]!);
    expect(status).toMatchObject({ code: 0, out: expect.stringMatching(new RegExp(`queued\\s+attempt 0\\n[^]*\\n  waiting for breaker ${H} \\(open until \\S+ \\S+ \\([^)]+\\)\\)$`)) });
    expect(JSON.parse((await troupe(running.socket, 'status', ids[0]!, '--json')).out)).toMatchObject({ heldBy: { breaker: H, state: 'open' } });

    clock.advance(30_000); // the default reset timeout: one trial, which succeeds
    for (const id of ids) expect(await outcome(id)).toMatchObject({ state: 'succeeded' });
    await waitFor(() => story().at(-1) === 'closed', 'agent:hash closed');
    expect(story()).toEqual(['open', 'half-open', 'closed']);
    expect(await hashBreaker()).toMatchObject({ state: 'closed' });
    expect((await callDaemon(http, 'GET', `/v1/tasks/${ids[0]}`)).body).not.toHaveProperty('heldBy');
    expect(running.supervisor.snapshot().breakers).toMatchObject({ [H]: 'closed' });
  }, 240_000); // runs of the binary, a Node start-up each: seconds apiece on a loaded machine
});

/**
 * The `reprise` command against the demo running as `npm start` runs it, the command itself a child process as a
 * shell runs it (plain lines: its stdout is a pipe). The progress bar on a terminal is checked by running the
 * command's code with an output that says it is a TTY.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { killDemoProcesses, startDemoProcess, type DemoProcess } from '../harness/demo-process.js';

const run = promisify(execFile);
const TOKEN = 'cli-test-admin-token-0123456';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `reprise ...args` in a child process with `env` added to a clean environment; never rejects. */
async function reprise(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('the reprise command against the demo', () => {
  let demo: DemoProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    demo = await startDemoProcess({ REPRISE_ADMIN_TOKEN: TOKEN, REPRISE_WARM_CRON: 'false' });
    env = { REPRISE_URL: `${demo.url}/api/agents/system`, REPRISE_ADMIN_TOKEN: TOKEN };
  });

  afterAll(async () => {
    await demo?.stop();
    killDemoProcesses();
  });

  it('stats: the figures as text, and as the route\'s JSON with --json', async () => {
    const text = await reprise(['stats'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^backend {8}memory only$/m);
    expect(text.stdout).toMatch(/^popular moods {2}\d+ of \d+ precomputed$/m);

    const json = await reprise(['stats', '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ cacheType: 'memory', popularMoods: { total: expect.any(Number) }, idRegistry: expect.any(Object) });
  });

  it('warm: follows the job with plain lines when not on a terminal, and exits 0 when it succeeded', async () => {
    const outcome = await reprise(['warm', '--moods', 'calm, party vibes', '--force'], env);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    const lines = outcome.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^warm \S+ started for 2 moods$/);
    expect(lines.at(-1)).toMatch(/^warm \S+ succeeded: 2\/2 moods, 0 failed$/);
    expect(outcome.stdout).not.toMatch(/\u001b\[/); // no terminal control codes in a pipe
    const progress = JSON.parse((await reprise(['stats', '--json'], env)).stdout) as { popularMoods: { cached: number } };
    expect(progress.popularMoods.cached).toBeGreaterThanOrEqual(1); // "calm" is a configured mood
  });

  it('warm --json: only the final progress record', async () => {
    const outcome = await reprise(['warm', '--moods', 'calm', '--json'], env);
    expect(outcome.code).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({ status: 'succeeded', total: 1, done: 1, failed: 0 });
  });

  it('warm: draws a progress bar on a terminal and ends it at 100%', async () => {
    let written = '';
    const terminal = { isTTY: true, columns: 100, write: (text: string) => { written += text; return true; }, on() { return terminal; }, removeListener() { return terminal; } };
    const errors: string[] = [];
    const code = await runCli(['--url', `${demo.url}/api/agents/system`, 'warm', '--force'], {
      stdout: terminal,
      stderr: { write: (text: string) => errors.push(text) },
      env: { REPRISE_ADMIN_TOKEN: TOKEN },
    });
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(written).toMatch(/warm \[[█░]+\] 100% \| (\d+)\/\1 moods \| 0 failed \| succeeded/);
    expect(written).toMatch(/\u001b\[/); // drawn in place
  });

  it('invalidate: refuses without --yes, names an unknown category, removes one category with --yes', async () => {
    const refused = await reprise(['invalidate', '--category', 'recommendations'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('every cached entry of the category "recommendations": add --yes to confirm');

    const unknown = await reprise(['invalidate', '--category', 'recomendations', '--yes'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/400 unknown cache category "recomendations"; valid categories: .*recommendations/);

    const removed = await reprise(['invalidate', '--category', 'popular_mood_cache', '--yes', '--json'], env);
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ category: 'popular_mood_cache', invalidated: expect.any(Number) });
    expect(JSON.parse(removed.stdout).invalidated).toBeGreaterThan(0);
    const after = JSON.parse((await reprise(['stats', '--json'], env)).stdout) as { popularMoods: { cached: number } };
    expect(after.popularMoods.cached).toBe(0);
  });

  it('reads --url and --token before the environment, and says what is wrong without printing the token', async () => {
    const wrong = 'not-the-admin-token-at-all';
    const refused = await reprise(['--token', wrong, 'stats'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('reprise: GET cache/stats: 403 the admin token is not valid\n');

    const none = await reprise(['stats'], { REPRISE_URL: env.REPRISE_URL! });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('401 authentication required');
    expect(none.stderr).toContain('REPRISE_ADMIN_TOKEN');

    const flags = await reprise(['--url', env.REPRISE_URL!, '--token', TOKEN, 'stats', '--json']);
    expect(flags.code).toBe(0);

    const noUrl = await reprise(['stats']);
    expect([noUrl.code, noUrl.stderr]).toEqual([2, expect.stringContaining('--url or REPRISE_URL')]);
    const badOption = await reprise(['warm', '--moods'], env);
    expect(badOption.code).toBe(2);
    const notTheRouter = await reprise(['--url', `${demo.url}/nowhere`, 'stats'], env);
    expect(notTheRouter.code).toBe(1);
    expect(notTheRouter.stderr).toContain('not an answer of the reprise admin routes');
  });
});

describe('the reprise command when the warm job fails', () => {
  let demo: DemoProcess;

  beforeAll(async () => {
    // ReccoBeats unreachable: every mood fails.
    demo = await startDemoProcess({ REPRISE_ADMIN_TOKEN: TOKEN, REPRISE_WARM_CRON: 'false', RECCOBEATS_BASE_URL: 'http://127.0.0.1:9' });
  });

  afterAll(async () => {
    await demo?.stop();
    killDemoProcesses();
  });

  it('exits non-zero and says how many moods failed', async () => {
    const outcome = await reprise(['warm', '--moods', 'calm,party vibes'], { REPRISE_URL: `${demo.url}/api/agents/system`, REPRISE_ADMIN_TOKEN: TOKEN });
    expect(outcome.code).toBe(1);
    const lines = outcome.stdout.trim().split('\n');
    expect(lines.at(-3)).toMatch(/^warm \S+ failed: 2\/2 moods, 2 failed$/);
    // Then each mood that got no entry, with what went wrong.
    expect(lines.slice(-2).sort()).toEqual([expect.stringMatching(/^ {2}calm: failed \(.+\)$/), expect.stringMatching(/^ {2}party vibes: failed \(.+\)$/)]);
  });
});

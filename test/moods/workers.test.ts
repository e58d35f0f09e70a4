/**
 * Many workers on one Redis: one warm per schedule slot between them, one warm at a time (a refused caller learns the
 * running job's id), progress readable from any worker, lease renewal for long runs, takeover when a holder dies.
 */
import { describe, expect, it } from 'vitest';
import { WarmAlreadyRunningError } from '../../src/moods/popular-moods.js';
import { BACKEND_NAMES } from '../harness/backends.js';
import { sample } from '../harness/prometheus.js';
import { freePort, hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { closeAfterEachTest, useRedisServer } from '../harness/lifecycle.js';
import { controlledCompute, countingCompute, openInstance, pollForRenewal, useInstances, type InstanceOptions, type MoodsInstance } from './helpers.js';

const MOODS = ['calm', 'focus', 'party'];

describe.skipIf(!hasRedisServer).each(BACKEND_NAMES)('warm runs across workers on %s Redis', (backendName) => {
  const suite = useInstances(backendName, 'w');
  const { backend } = suite;

  /** `count` workers sharing one key prefix on the backend. */
  function workers(count: number, options: InstanceOptions = {}): Promise<MoodsInstance[]> {
    const prefix = suite.freshPrefix();
    return Promise.all(Array.from({ length: count }, () => suite.open({ moods: MOODS, ...options }, prefix)));
  }

  const warmKey = (instance: MoodsInstance, name: string) => {
    const prefix = instance.cache.keyPrefix;
    return `${prefix}@warm-popular-moods:{${prefix}warm-popular-moods}:${name}`;
  };
  const lockKey = (instance: MoodsInstance) => warmKey(instance, 'lock');

  it('runs one warm per schedule slot between workers firing at the same moment: one computation per mood', async () => {
    const workflow = countingCompute();
    const instances = await workers(4, { computeRecommendations: workflow.compute });
    const slot = new Date('2030-01-01T03:00:00.000Z');

    const outcomes = await Promise.all(instances.slice(0, 3).map((instance) => instance.moods.runScheduledNow(slot)));
    const ran = outcomes.filter((outcome) => outcome.ran);
    expect(ran).toHaveLength(1);
    for (const outcome of outcomes.filter((candidate) => !candidate.ran)) {
      expect(['locked', 'slot_done']).toContain(outcome.ran ? null : outcome.reason);
    }
    expect(workflow.calls.sort()).toEqual([...MOODS].sort());
    for (const mood of MOODS) expect(workflow.callsFor(mood)).toBe(1);

    // A worker whose timer fires late for the same slot finds it done; nothing is computed again.
    expect(await instances[3]!.moods.runScheduledNow(slot)).toEqual({ ran: false, reason: 'slot_done' });
    expect(await instances[0]!.moods.runScheduledNow(new Date('2030-01-01T03:00:00.900Z'))).toEqual({ ran: false, reason: 'slot_done' });
    expect(workflow.calls).toHaveLength(MOODS.length);
    expect(backend().cli('EXISTS', lockKey(instances[0]!))).toBe('0');
    expect(backend().cli('GET', warmKey(instances[0]!, 'last-slot'))).toBe('2030-01-01T03:00:00.000Z');
    const record = JSON.parse(backend().cli('GET', warmKey(instances[0]!, 'job')));
    expect(record).toMatchObject({ jobId: ran[0]!.ran ? ran[0]!.report.jobId : '', status: 'succeeded', trigger: 'schedule', total: 3, done: 3 });

    // The next slot runs again (its moods are fresh, so nothing needs computing).
    const next = await instances[3]!.moods.runScheduledNow(new Date('2030-01-02T03:00:00.000Z'));
    expect(next.ran).toBe(true);
    expect(workflow.calls).toHaveLength(MOODS.length);
  });

  it('skips a slot on every other worker while one worker runs it, naming the running job', async () => {
    const workflow = controlledCompute();
    const [first, second, third] = await workers(3, { computeRecommendations: workflow.compute });
    const slot = new Date('2030-02-01T03:00:00.000Z');

    const running = first!.moods.runScheduledNow(slot);
    await pollUntil(() => workflow.calls.length === 2, 'the first worker to start computing');
    const jobId = backend().cli('GET', lockKey(first!));
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await second!.moods.runScheduledNow(slot)).toEqual({ ran: false, reason: 'locked', jobId });
    expect(await third!.moods.runScheduledNow(slot)).toEqual({ ran: false, reason: 'locked', jobId });
    const skipped = await second!.telemetry.metrics.registry.metrics();
    expect(sample(skipped, 'reprise_warm_runs_total', { status: 'skipped_locked' })).toBe(1);

    workflow.answerAll();
    await pollUntil(() => workflow.calls.length === 3, 'the third mood');
    workflow.answerAll();
    const outcome = await running;
    expect(outcome.ran && outcome.report.jobId).toBe(jobId);
    expect(outcome.ran && outcome.report.trigger).toBe('schedule');
    expect(workflow.calls).toHaveLength(3);
  });

  it('refuses a manual warm on one worker while another runs one, and shows that job\'s progress everywhere', async () => {
    const workflow = controlledCompute();
    const [holder, other] = await workers(2, { computeRecommendations: workflow.compute });
    const started = await holder!.moods.startWarm();
    if (!started.started) throw new Error('the first warm should start');
    const { jobId } = started.job;

    expect(await other!.moods.startWarm()).toEqual({ started: false, runningJobId: jobId });
    const refusal = await other!.moods.warm({ force: true }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(WarmAlreadyRunningError);
    expect((refusal as WarmAlreadyRunningError).jobId).toBe(jobId);
    // A scheduled slot on the other worker is skipped as well.
    expect(await other!.moods.runScheduledNow(new Date('2030-03-01T03:00:00Z'))).toMatchObject({ ran: false, reason: 'locked', jobId });

    await pollUntil(() => workflow.calls.length === 2, 'two computations');
    expect(await other!.moods.progress()).toMatchObject({ jobId, status: 'running', trigger: 'manual', total: 3, done: 0, failed: 0, finishedAt: null });
    workflow.calls[0]!.answer.reject(new Error('upstream 500'));
    await pollUntil(async () => (await other!.moods.progress())?.done === 1, 'the other worker to see one mood done');
    expect(await other!.moods.progress()).toMatchObject({ jobId, status: 'running', done: 1, failed: 1, failures: [{ mood: workflow.calls[0]!.mood, outcome: 'failed', error: 'upstream 500' }] });

    workflow.answerAll();
    await pollUntil(() => workflow.calls.length === 3, 'the third mood');
    workflow.answerAll();
    await pollUntil(async () => (await other!.moods.progress())?.status === 'partial', 'the other worker to see the end');
    const last = await other!.moods.progress();
    expect(last).toMatchObject({ jobId, total: 3, done: 3, failed: 1 });
    expect(last!.finishedAt).toBeInstanceOf(Date);
    expect(last!.startedAt).toBeInstanceOf(Date);
    expect(workflow.calls).toHaveLength(3);

    // Now the other worker may run, and its job becomes the one everybody sees.
    const next = await other!.moods.startWarm();
    expect(next.started).toBe(true);
    await pollUntil(() => workflow.calls.length === 4, 'the failed mood to be retried');
    expect(workflow.calls[3]!.mood).toBe(workflow.calls[0]!.mood);
    workflow.answerAll();
    await pollUntil(async () => (await holder!.moods.progress())?.jobId === (next.started ? next.job.jobId : '') && (await holder!.moods.progress())?.status === 'succeeded', 'the first worker to see the second job end');
  });

  it('renews the lease of a run that outlasts it, and no other run starts meanwhile', async () => {
    const workflow = controlledCompute();
    const [holder, other] = await workers(2, { computeRecommendations: workflow.compute, warmLeaseMs: 1_500, moods: ['slow'] });
    const started = await holder!.moods.startWarm();
    if (!started.started) throw new Error('the warm should start');
    const key = lockKey(holder!);
    expect(backend().cli('GET', key)).toBe(started.job.jobId);

    // Three renewals in a row: together they outlast the 1.5 s lease, which never lapsed.
    for (let renewal = 0; renewal < 3; renewal++) {
      await pollForRenewal(() => Number(backend().cli('PTTL', key)), `renewal ${renewal + 1} of the lease`);
      expect(backend().cli('GET', key)).toBe(started.job.jobId);
      expect(await other!.moods.startWarm()).toEqual({ started: false, runningJobId: started.job.jobId });
    }
    expect(workflow.calls).toHaveLength(1);

    workflow.answerAll();
    await pollUntil(() => backend().cli('EXISTS', key) === '0', 'the lock to be released');
    expect((await holder!.moods.progress())!.status).toBe('succeeded');
    expect(workflow.calls).toHaveLength(1);
  });

  it('stops starting moods when its lease is lost to another worker, and counts them as cancelled', async () => {
    const workflow = controlledCompute();
    const [holder] = await workers(1, { computeRecommendations: workflow.compute, warmLeaseMs: 600, warmConcurrency: 1 });
    const warming = holder!.moods.warm();
    await pollUntil(() => workflow.calls.length === 1, 'the first mood');
    // The lease lapsed (a long pause, say) and another worker now owns the lock.
    backend().cli('SET', lockKey(holder!), 'someone-else', 'PX', '60000');
    await pollUntil(() => holder!.logger.lines.some((line) => line.includes('lease lost')), 'the holder to notice');
    workflow.answerAll();

    const report = await warming;
    expect(workflow.calls).toHaveLength(1);
    expect(report).toMatchObject({ status: 'partial', done: 3, failed: 2 });
    expect(report.results.map((result) => result.outcome)).toEqual(['computed', 'cancelled', 'cancelled']);
    // Its release must not remove the other worker's lock, nor its final record overwrite what the owner writes.
    expect(backend().cli('GET', lockKey(holder!))).toBe('someone-else');
    expect(JSON.parse(backend().cli('GET', warmKey(holder!, 'job')))).toMatchObject({ jobId: report.jobId, status: 'running', done: 0 });
  });

  it('lets another worker run once a dead holder\'s lease expires, and reports the dead job as abandoned', async () => {
    const holderWorkflow = controlledCompute();
    const otherWorkflow = countingCompute();
    const prefix = suite.freshPrefix();
    const holder = await suite.open({ moods: MOODS, computeRecommendations: holderWorkflow.compute, warmLeaseMs: 1_000 }, prefix);
    const other = await suite.open({ moods: MOODS, computeRecommendations: otherWorkflow.compute, warmLeaseMs: 1_000 }, prefix);

    const started = await holder.moods.startWarm();
    if (!started.started) throw new Error('the warm should start');
    await pollUntil(() => holderWorkflow.calls.length === 2, 'the holder to compute');
    expect(await other.moods.startWarm()).toEqual({ started: false, runningJobId: started.job.jobId });

    // The holder's process dies: its connection drops without releasing anything.
    holder.gateway.client!.disconnect();
    await pollUntil(() => backend().cli('EXISTS', lockKey(other)) === '0', 'the dead holder\'s lease to expire');
    expect(await other.moods.progress()).toMatchObject({ jobId: started.job.jobId, status: 'abandoned' });

    const takeover = await other.moods.warm();
    expect(takeover.status).toBe('succeeded');
    expect(takeover.jobId).not.toBe(started.job.jobId);
    expect(otherWorkflow.calls.sort()).toEqual([...MOODS].sort());
    expect(await other.moods.progress()).toMatchObject({ jobId: takeover.jobId, status: 'succeeded' });

    // Let the dead worker's run end so it can close; its writes reach only its own memory.
    holderWorkflow.answerAll();
    await pollUntil(() => holderWorkflow.calls.length === 3, 'the holder\'s last mood');
    holderWorkflow.answerAll();
  });

  it('falls back to a lock of this process when Redis is unreachable, says so, and still warms', async () => {
    const workflow = countingCompute();
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    const instance = await openInstance(nobody, suite.freshPrefix(), {
      moods: MOODS,
      computeRecommendations: workflow.compute,
      waitForRedis: false,
      cacheOptions: { redisConnectTimeoutMs: 200 },
    });
    suite.closeAfterTest(instance);
    expect(instance.gateway.available).toBe(false);

    const report = await instance.moods.warm();
    expect(report.status).toBe('succeeded');
    expect(workflow.calls).toHaveLength(MOODS.length);
    expect(instance.logger.lines.some((line) => /Redis did not take the lock \(unavailable\); held in this process only/.test(line))).toBe(true);
    expect(await instance.moods.progress()).toMatchObject({ jobId: report.jobId, status: 'succeeded' });
    expect(await instance.moods.getPrecomputedRecommendations('calm')).not.toBeNull();
  });
});

describe.skipIf(!hasRedisServer)('a warm whose lock was taken while Redis stalled', () => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<MoodsInstance>();

  it('adopts the lock once Redis answers, so a second worker sees the same job running, then free when it finished', async () => {
    const prefix = 'stall:';
    const workflow = controlledCompute();
    // The default detector: 50 ms without any reply while a call waits means Redis stopped.
    const options = { moods: MOODS, computeRecommendations: workflow.compute, cacheOptions: { redisCommandTimeoutMs: 50 } };
    const [a, b] = [await openInstance(server().url, prefix, options), await openInstance(server().url, prefix, options)];
    opened.push(a, b);
    const lock = `${prefix}@warm-popular-moods:{${prefix}warm-popular-moods}:lock`;

    server().pause();
    let started;
    try {
      started = await a.moods.startWarm();
    } finally {
      server().resume();
    }
    expect(started.started).toBe(true);
    const jobId = started.started ? started.job.jobId : '';
    // The SET NX that was given up lands after all: the running job now holds the lock in Redis.
    await pollUntil(() => server().cli('GET', lock) === jobId, 'the late lock to be adopted by the running job');
    expect(await b.moods.startWarm()).toEqual({ started: false, runningJobId: jobId });

    await pollUntil(async () => {
      workflow.answerAll();
      return (await b.moods.progress())?.status === 'succeeded';
    }, 'the job to finish');
    // Finished: the lock is free everywhere, and the other worker's progress agrees.
    expect(server().cli('EXISTS', lock)).toBe('0');
    expect(await b.moods.progress()).toMatchObject({ jobId, status: 'succeeded' });
    expect((await b.moods.startWarm()).started).toBe(true);
  });
});


/** The node-cron warm schedule: named task, expression and time zone from options or environment, false disables,
 * invalid input is a clear error at start, no overlap, and close() waits for a run and removes only its own task. */
import cron from 'node-cron';
import { describe, expect, it } from 'vitest';
import { WarmScheduleError } from '../../src/moods/schedule.js';
import { pollUntil } from '../harness/redis-servers.js';
import { controlledCompute, countingCompute, turn, useInstances, type InstanceOptions, type MoodsInstance } from './helpers.js';

const suite = useInstances('memory', 'sched');

function open(options: InstanceOptions = {}): Promise<MoodsInstance> {
  return suite.open({ moods: ['calm', 'focus'], ...options });
}

function tasksNamed(name: string) {
  return [...cron.getTasks().values()].filter((task) => task.name === name);
}

describe('warm schedule', () => {
  it('schedules one named task on "0 3 * * *" by default, and running it warms the configured moods', async () => {
    const workflow = countingCompute();
    const instance = await open({ computeRecommendations: workflow.compute, warmSchedule: undefined });
    instance.moods.start();
    const info = instance.moods.schedule;
    expect(info).toMatchObject({ enabled: true, name: `${instance.cache.keyPrefix}warm-popular-moods`, expression: '0 3 * * *', timezone: null });
    expect(info.nextRun).toBeInstanceOf(Date);
    const [task, ...others] = tasksNamed(info.name);
    expect(others).toHaveLength(0);
    expect(task!.getPattern()).toBe('0 3 * * *');
    expect(task!.getStatus()).toBe('idle');

    const outcome = (await task!.execute()) as { ran: boolean; report?: { trigger: string; total: number } };
    expect(outcome.ran).toBe(true);
    expect(outcome.report).toMatchObject({ trigger: 'schedule', total: 2 });
    expect(workflow.calls.sort()).toEqual(['calm', 'focus']);
    expect(await instance.moods.progress()).toMatchObject({ trigger: 'schedule', status: 'succeeded' });
  });

  it('takes the expression and time zone from REPRISE_WARM_CRON / REPRISE_WARM_TIMEZONE, and options win', async () => {
    const env = { REPRISE_WARM_CRON: '30 4 * * 1', REPRISE_WARM_TIMEZONE: 'Asia/Tokyo' };
    const fromEnv = await open({ computeRecommendations: countingCompute().compute, env, warmSchedule: undefined });
    fromEnv.moods.start();
    expect(fromEnv.moods.schedule).toMatchObject({ expression: '30 4 * * 1', timezone: 'Asia/Tokyo' });
    // 04:30 in Tokyo (UTC+9, no daylight saving) is 19:30 UTC, on a Sunday.
    const next = fromEnv.moods.schedule.nextRun!;
    expect([next.getUTCHours(), next.getUTCMinutes(), next.getUTCDay()]).toEqual([19, 30, 0]);

    const fromOptions = await open({ computeRecommendations: countingCompute().compute, env, warmSchedule: '0 5 * * *', warmTimezone: 'UTC' });
    fromOptions.moods.start();
    expect(fromOptions.moods.schedule).toMatchObject({ expression: '0 5 * * *', timezone: 'UTC' });
    expect(fromOptions.moods.schedule.nextRun!.getUTCHours()).toBe(5);
  });

  it('is disabled by warmSchedule: false or REPRISE_WARM_CRON=false', async () => {
    for (const options of [{ warmSchedule: false as const }, { env: { REPRISE_WARM_CRON: 'false' }, warmSchedule: undefined }]) {
      const instance = await open({ computeRecommendations: countingCompute().compute, ...options });
      instance.moods.start();
      expect(instance.moods.schedule).toMatchObject({ enabled: false, expression: null, nextRun: null });
      expect(tasksNamed(instance.moods.schedule.name)).toHaveLength(0);
      expect(instance.logger.lines).toContain('info popular moods: warm schedule disabled');
      // Manual warms still work.
      expect((await instance.moods.warm()).status).toBe('succeeded');
    }
  });

  it('rejects an invalid expression or time zone at start with a clear error, scheduling nothing', async () => {
    const badExpression = await open({ computeRecommendations: countingCompute().compute, warmSchedule: '0 25 * * *' });
    expect(() => badExpression.moods.start()).toThrow(WarmScheduleError);
    expect(() => badExpression.moods.start()).toThrow(/warmSchedule "0 25 \* \* \*" is not a valid cron expression \(25 is a invalid expression for hour\)/);
    expect(tasksNamed(badExpression.moods.schedule.name)).toHaveLength(0);

    const gibberish = await open({ computeRecommendations: countingCompute().compute, env: { REPRISE_WARM_CRON: 'every night' }, warmSchedule: undefined });
    expect(() => gibberish.moods.start()).toThrow(/warmSchedule "every night" is not a valid cron expression/);

    const badZone = await open({ computeRecommendations: countingCompute().compute, warmSchedule: '0 3 * * *', warmTimezone: 'Mars/Olympus_Mons' });
    expect(() => badZone.moods.start()).toThrow(/warmTimezone "Mars\/Olympus_Mons" is not an IANA time zone/);
    expect(tasksNamed(badZone.moods.schedule.name)).toHaveLength(0);

    // Even without a workflow to run, a broken expression is reported.
    const noWorkflow = await open({ warmSchedule: '* * *' });
    expect(() => noWorkflow.moods.start()).toThrow(WarmScheduleError);
  });

  it('schedules nothing without computeRecommendations, and says so', async () => {
    const instance = await open({ warmSchedule: '0 3 * * *' });
    instance.moods.start();
    expect(instance.moods.schedule.enabled).toBe(false);
    expect(tasksNamed(instance.moods.schedule.name)).toHaveLength(0);
    expect(instance.logger.lines.some((line) => line.includes('no computeRecommendations given, warm schedule not started'))).toBe(true);
  });

  it('never overlaps: a slot that fires while a warm runs is skipped', async () => {
    const workflow = controlledCompute();
    const instance = await open({ computeRecommendations: workflow.compute, warmSchedule: '0 3 * * *' });
    instance.moods.start();
    const first = instance.moods.executeScheduledTask();
    await pollUntil(() => workflow.calls.length === 2, 'the first run to compute');
    const second = (await instance.moods.executeScheduledTask()) as { ran: boolean; reason?: string };
    expect(second).toMatchObject({ ran: false, reason: 'locked' });
    workflow.answerAll();
    expect(await first).toMatchObject({ ran: true });
    expect(workflow.calls).toHaveLength(2);
  });

  it('close() waits for a running warm, then removes its own task and leaves the host\'s tasks alone', async () => {
    const hostTask = cron.schedule('0 0 1 1 *', () => undefined, { name: 'host-nightly-report' });
    try {
      const workflow = controlledCompute();
      const instance = await open({ computeRecommendations: workflow.compute, warmSchedule: '0 3 * * *' });
      instance.moods.start();
      const name = instance.moods.schedule.name;
      const running = instance.moods.executeScheduledTask();
      await pollUntil(() => workflow.calls.length === 2, 'the scheduled run to compute');

      let closed = false;
      const closing = instance.moods.close().then(() => {
        closed = true;
      });
      for (let i = 0; i < 5; i++) await turn();
      expect(closed).toBe(false);
      expect(instance.moods.schedule.enabled).toBe(false);
      expect(tasksNamed(name)[0]?.getStatus()).toBe('stopped');

      workflow.answerAll();
      await closing;
      expect(await running).toMatchObject({ ran: true });
      expect(tasksNamed(name)).toHaveLength(0);
      expect(tasksNamed('host-nightly-report')).toHaveLength(1);
      expect(hostTask.getStatus()).toBe('idle');
      // After close, nothing starts any more.
      expect(await instance.moods.runScheduledNow()).toEqual({ ran: false, reason: 'closed' });
      await expect(instance.moods.startWarm()).rejects.toThrow(/closed/);
      expect(instance.moods.canWarm).toBe(false);
    } finally {
      await hostTask.destroy();
    }
  });
});

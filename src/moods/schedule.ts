/**
 * The in-process warm schedule: one named node-cron task with overlap prevention. It only ever stops and destroys
 * its own task (never `cron.shutdown()`, which would stop the host's tasks too), and closing waits for a run
 * already in progress.
 */
import cron, { type ScheduledTask, type TaskContext } from 'node-cron';
import type { Logger } from '../logger.js';
import { RepriseOptionsError } from '../errors.js';

/** warmSchedule (code `invalid_cron`) or warmTimezone (code `invalid_value`) cannot be used. */
export class WarmScheduleError extends RepriseOptionsError {
  override name = 'WarmScheduleError';
}

export interface WarmScheduleOptions {
  /** A 5-field (minute first) or 6-field (second first) cron expression. */
  expression: string;
  /** IANA time zone; unset means the process's own. */
  timezone?: string;
  /** The task's stable name. */
  name: string;
  /** What runs at each slot; `slot` is the scheduled time (not the moment the timer fired). */
  run: (slot: Date) => Promise<unknown>;
  logger: Logger;
}

export class WarmSchedule {
  readonly expression: string;
  readonly timezone: string | undefined;
  readonly name: string;
  private readonly task: ScheduledTask;
  private readonly inProgress = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;

  /** Validates the expression and time zone (a WarmScheduleError says what is wrong) and starts the task. */
  constructor(options: WarmScheduleOptions) {
    validateSchedule(options.expression, options.timezone);
    this.expression = options.expression;
    this.timezone = options.timezone;
    this.name = options.name;
    const run = (context: TaskContext) => this.track(options.run(context.date));
    this.task = cron.createTask(this.expression, run, {
      name: options.name,
      noOverlap: true,
      ...(this.timezone ? { timezone: this.timezone } : {}),
      logger: cronLogger(options.logger),
      // A pending warm schedule must not keep the host's process alive.
      unref: true,
    });
    void this.task.start();
  }

  get taskId(): string {
    return this.task.id;
  }

  nextRun(): Date | null {
    return this.closing ? null : this.task.getNextRun();
  }

  /** Runs the task now, as a slot would (for operators and tests). */
  execute(): Promise<unknown> {
    return this.task.execute();
  }

  /** Stops the task, waits for a run in progress, then removes the task from node-cron. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.task.stop();
      await Promise.allSettled([...this.inProgress]);
      await this.task.destroy();
    })();
    return this.closing;
  }

  private track<T>(running: Promise<T>): Promise<T> {
    this.inProgress.add(running);
    void running.finally(() => this.inProgress.delete(running)).catch(() => undefined);
    return running;
  }
}

/** Throws a WarmScheduleError saying what is wrong with the expression or the time zone. */
export function validateSchedule(expression: string, timezone: string | undefined): void {
  checkExpression(expression);
  if (timezone !== undefined) checkTimezone(timezone);
}

function checkExpression(expression: unknown): string {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new WarmScheduleError('invalid_cron', 'warmSchedule', `warmSchedule must be a cron expression such as "0 3 * * *" or false, got ${JSON.stringify(expression)}`);
  }
  const verdict = cron.validateDetailed(expression);
  if (!verdict.valid) {
    const reasons = verdict.errors.map((error) => error.message).join('; ');
    throw new WarmScheduleError(
      'invalid_cron',
      'warmSchedule',
      `warmSchedule ${JSON.stringify(expression)} is not a valid cron expression (${reasons}); ` +
        'use 5 fields "minute hour day-of-month month day-of-week", e.g. "0 3 * * *" for 03:00 every day, or false to disable',
    );
  }
  return expression;
}

function checkTimezone(timezone: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new WarmScheduleError('invalid_value', 'warmTimezone', `warmTimezone ${JSON.stringify(timezone)} is not an IANA time zone such as "Europe/Paris" or "UTC"`);
  }
  return timezone;
}

/** node-cron logs Errors as well as strings; reprise's logger takes strings. */
function cronLogger(logger: Logger) {
  const text = (message: string | Error) => (message instanceof Error ? message.message : message);
  return {
    info: (message: string) => logger.info(`warm schedule: ${message}`),
    warn: (message: string) => logger.warn(`warm schedule: ${message}`),
    error: (message: string | Error, error?: Error) => logger.error(`warm schedule: ${text(message)}${error ? `: ${error.message}` : ''}`),
    debug: (message: string | Error) => logger.debug(`warm schedule: ${text(message)}`),
  };
}

/**
 * Follows a warm job to its end through GET /cache/warm-popular-moods: a progress bar on a terminal (cli-progress),
 * one plain line per change otherwise (logs, CI, pipes), nothing with --json (the caller prints the final record).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Presets, SingleBar } from 'cli-progress';
import { AdminRequestError, type AdminClient, type WarmProgress } from './admin-client.js';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface FollowOptions {
  out: Output;
  /** Show nothing while it runs. */
  quiet: boolean;
  pollMs?: number;
}

/** Polls in a row that may show another job before the CLI gives up on seeing its own. */
const MAX_POLLS_WITHOUT_THE_JOB = 30;

/** Resolves with the job's last progress once it is no longer running. */
export async function followWarm(client: AdminClient, jobId: string, options: FollowOptions): Promise<WarmProgress> {
  const view = options.quiet ? null : options.out.isTTY ? barView(options.out) : lineView(options.out);
  let missing = 0;
  try {
    for (;;) {
      const progress = await client.warmProgress();
      if (progress.jobId === jobId) {
        missing = 0;
        view?.update(progress);
        if (progress.status !== 'running') return progress;
      } else if (++missing >= MAX_POLLS_WITHOUT_THE_JOB) {
        throw new AdminRequestError(
          `the progress of job ${jobId} is not visible at this address (another job replaced it, or the workers do not share Redis)`,
          null,
        );
      }
      await sleep(options.pollMs ?? 1_000);
    }
  } finally {
    view?.stop();
  }
}

interface View {
  update(progress: WarmProgress): void;
  stop(): void;
}

function barView(out: Output): View {
  const bar = new SingleBar(
    {
      format: 'warm [{bar}] {percentage}% | {value}/{total} moods | {failed} failed | {status}',
      stream: out as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      // The bar redraws on update(); no timer of its own keeps the process alive.
      noTTYOutput: false,
      fps: 10,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(progress) {
      const payload = { failed: progress.failed, status: progress.status };
      if (!started) {
        bar.start(progress.total, progress.done, payload);
        started = true;
      } else {
        bar.setTotal(progress.total);
        bar.update(progress.done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function lineView(out: Output): View {
  let last = '';
  return {
    update(progress) {
      const line = `warm ${progress.jobId}: ${progress.done}/${progress.total} moods done, ${progress.failed} failed (${progress.status})`;
      if (line !== last) out.write(`${line}\n`);
      last = line;
    },
    stop() {},
  };
}

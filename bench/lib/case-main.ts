/**
 * The body of every bench child process: start the requested variant, then obey the runner (warm up, run a round,
 * finish), counting the Redis commands each round caused. Exits after the result (some libraries keep sockets open).
 */
import { Redis } from 'ioredis';
import { Meter } from './measure.js';
import { readRequest, type CaseMessage, type CaseResult, type RunnerMessage } from './protocol.js';
import { commandCounts, commandsBetween, type CommandCounts } from './redis-commands.js';
import type { CaseFile } from './workload.js';

export async function runCase(file: CaseFile): Promise<void> {
  const send = (message: CaseMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));
  if (!process.send) throw new Error('bench cases run under bench/run.ts, which talks to them over IPC');
  try {
    await serve(file, send);
  } catch (error) {
    await send({ type: 'failed', message: error instanceof Error ? error.stack ?? error.message : String(error) });
  }
  process.exit(0);
}

async function serve(file: CaseFile, send: (message: CaseMessage) => Promise<void>): Promise<void> {
  const request = readRequest();
  const variant = file[request.variant];
  if (!variant) throw new Error(`unknown variant ${request.variant}; this file has ${Object.keys(file).join(', ')}`);
  const url = new URL(request.redisUrl);
  const control = new Redis(request.redisUrl, { lazyConnect: true });
  await control.connect();
  const workload = await variant.start({
    redisUrl: request.redisUrl,
    redisHost: url.hostname,
    redisPort: Number(url.port),
    keyPrefix: request.keyPrefix,
    options: request.options ?? {},
  });
  const meter = new Meter(workload);
  const commands: CommandCounts = {};
  let timedOps = 0;

  const messages = runnerMessages();
  await send({ type: 'ready' });
  for await (const message of messages) {
    if (message.type === 'warm-up') {
      await meter.warmUp(request.warmupMs, request.roundMs);
      await send({ type: 'warmed' });
    } else if (message.type === 'round') {
      // The lead-in's commands are not the round's: counted from after it.
      await meter.prepareRound();
      const before = await commandCounts(control);
      const opsPerSecond = await meter.round();
      const after = await commandCounts(control);
      for (const [command, calls] of Object.entries(commandsBetween(before, after))) commands[command] = (commands[command] ?? 0) + calls;
      timedOps += meter.opsPerRound;
      await send({ type: 'sample', opsPerSecond });
    } else {
      const result: CaseResult = {
        variant: request.variant,
        scenario: variant.scenario,
        setup: variant.setup,
        redisCommandsPerOp: Object.fromEntries(Object.entries(commands).map(([command, calls]) => [command, calls / timedOps])),
        evidence: workload.evidence?.() ?? {},
      };
      await workload.close();
      await control.quit();
      await send({ type: 'result', result });
      return;
    }
  }
}

/** The runner's messages as an async stream. */
async function* runnerMessages(): AsyncGenerator<RunnerMessage> {
  const queue: RunnerMessage[] = [];
  let wake: (() => void) | undefined;
  process.on('message', (message: RunnerMessage) => {
    queue.push(message);
    wake?.();
  });
  for (;;) {
    while (queue.length) yield queue.shift()!;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}

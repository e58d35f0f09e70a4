/**
 * `reprise`: the admin routes from a shell. Commands: stats, warm, invalidate. Exit codes: 0 done (for warm: the
 * job succeeded), 1 a request failed or the warm job did not succeed, 2 a usage error.
 */
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../version.js';
import { AdminClient, AdminRequestError } from './admin-client.js';
import { formatStats } from './format-stats.js';
import { followWarm, type Output } from './warm-progress.js';

export interface CliIo {
  stdout: Output;
  stderr: Output;
  env: NodeJS.ProcessEnv;
}

interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

class UsageError extends Error {}

/** Text from the server (mood names, error texts) with its control characters made visible: no escape reaches the terminal. */
export function visible(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const print = (line: string) => io.stdout.write(`${visible(line)}\n`);
  const printJson = (value: unknown) => print(JSON.stringify(value, null, 2));

  const program = new Command()
    .name('reprise')
    .description('See and steer reprise through its admin routes.')
    .version(VERSION)
    .addOption(new Option('--url <url>', 'where reprise.router is mounted, e.g. http://localhost:3000/api/agents/system [REPRISE_URL]'))
    .addOption(new Option('--token <token>', 'the admin token (prefer REPRISE_ADMIN_TOKEN: arguments show in ps) [REPRISE_ADMIN_TOKEN]'))
    .option('--json', 'print the JSON answer instead of text')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });

  /** The client for the global options; flags win over the environment. */
  const client = (command: Command): { api: AdminClient; json: boolean } => {
    const options = command.optsWithGlobals<GlobalOptions>();
    const url = options.url ?? io.env.REPRISE_URL;
    if (!url) throw new UsageError('reprise needs the admin routes\' address: --url or REPRISE_URL (e.g. http://localhost:3000/api/agents/system)');
    return { api: new AdminClient({ url, token: options.token ?? io.env.REPRISE_ADMIN_TOKEN }), json: options.json === true };
  };

  program
    .command('stats')
    .description('backend, hit ratio by category and tier, popular mood coverage, ID registry figures')
    .action(async (_options, command: Command) => {
      const { api, json } = client(command);
      const stats = await api.stats();
      if (json) printJson(stats);
      else print(formatStats(stats));
    });

  program
    .command('warm')
    .description('warm the popular moods and follow the job to its end (exit 0 only if it succeeded)')
    .option('--moods <list>', 'comma-separated moods instead of the configured ones')
    .option('--force', 'recompute entries that are still fresh')
    .action(async (options: { moods?: string; force?: boolean }, command: Command) => {
      const { api, json } = client(command);
      const moods = options.moods?.split(',').map((mood) => mood.trim()).filter((mood) => mood !== '');
      if (options.moods !== undefined && moods!.length === 0) throw new UsageError('--moods needs at least one mood, e.g. --moods "calm,party vibes"');
      const job = await api.startWarm({ ...(moods ? { moods } : {}), ...(options.force ? { force: true } : {}) });
      if (!json) print(`warm ${job.jobId} started for ${job.moods.length} moods`);
      const progress = await followWarm(api, job.jobId, { out: io.stdout, quiet: json });
      if (json) printJson(progress);
      else {
        print(`warm ${progress.jobId} ${progress.status}: ${progress.done}/${progress.total} moods, ${progress.failed} failed`);
        for (const failure of progress.failures ?? []) print(`  ${failure.mood}: ${failure.outcome}${failure.error ? ` (${failure.error})` : ''}`);
      }
      if (progress.status !== 'succeeded') exitCode = EXIT.failed;
    });

  program
    .command('invalidate')
    .description('remove cached entries of one category, or of every category')
    .option('--category <category>', 'only this category (default: every category)')
    .option('--yes', 'confirm: entries are removed from memory and Redis')
    .action(async (options: { category?: string; yes?: boolean }, command: Command) => {
      const { api, json } = client(command);
      const what = options.category === undefined ? 'every cached entry of every category' : `every cached entry of the category "${options.category}"`;
      if (!options.yes) throw new UsageError(`this removes ${what}: add --yes to confirm`);
      const answer = await api.invalidate(options.category);
      if (json) printJson(answer);
      else print(`removed ${answer.invalidated} entries (${answer.category === 'all' ? 'every category' : answer.category})`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof UsageError) {
      io.stderr.write(`reprise: ${visible(error.message)}\n`);
      return EXIT.usage;
    }
    if (error instanceof AdminRequestError) {
      io.stderr.write(`reprise: ${visible(error.message)}${hint(error)}\n`);
      return EXIT.failed;
    }
    throw error;
  }
}

function hint(error: AdminRequestError): string {
  if (error.status === 401) return ' (set REPRISE_ADMIN_TOKEN or pass --token)';
  if (error.status === 409 && typeof error.body?.runningJobId === 'string') return ` (job ${error.body.runningJobId})`;
  return '';
}

// pause, resume, cancel, set-concurrency, rerun-failed, extend: messages to a sweep.
import type { CommandModule } from 'yargs';
import { parse as parseYaml } from 'yaml';
import { isSettingKey, type TrialSettings } from '../../sweep-spec/index.js';
import { trialConfigSchema } from '../../ml/config.js';
import { connectClient } from '../../servers/temporal-connection.js';
import { UsageError } from '../errors.js';
import { printJson } from '../output.js';
import { extendSweep, findSweep, rerunFailed } from '../../client/sweeps.js';
import { parseAxisArgument } from '../../sweep-spec/extend.js';

interface IdArgs {
  id: string;
  json: boolean;
}

function signalCommand(
  name: 'pause' | 'resume' | 'cancel',
  describe: string,
  done: string,
): CommandModule<object, IdArgs> {
  return {
    command: `${name} <id>`,
    describe,
    builder: (y) =>
      y.positional('id', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
    handler: async (args) => {
      const client = await connectClient();
      const { handle, status } = await findSweep(client, args.id);
      if (status !== 'RUNNING') throw new UsageError(`sweep ${args.id} is ${status.toLowerCase()}, not running`);
      await handle.signal(name);
      if (args.json) printJson({ sweepId: args.id, signal: name });
      else process.stdout.write(`${args.id}: ${done}\n`);
    },
  };
}

export const sweepPauseCommand = signalCommand(
  'pause',
  'Start no new trials (running ones finish)',
  'paused; running trials finish, no new ones start',
);
export const sweepResumeCommand = signalCommand('resume', 'Start trials again after pause', 'resumed');
export const sweepCancelCommand = signalCommand(
  'cancel',
  'Cancel a sweep: pending trials never start, running ones stop',
  'cancelling; running trials stop after a checkpoint',
);

export const sweepSetConcurrencyCommand: CommandModule<object, IdArgs & { n: number }> = {
  command: 'set-concurrency <id> <n>',
  describe: 'Change how many trials of the sweep run at once',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .positional('n', { type: 'number', demandOption: true })
      .option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    if (!Number.isInteger(args.n) || args.n < 1)
      throw new UsageError(`concurrency must be a positive integer, got ${args.n}`);
    const client = await connectClient();
    const { handle, status } = await findSweep(client, args.id);
    if (status !== 'RUNNING') throw new UsageError(`sweep ${args.id} is ${status.toLowerCase()}, not running`);
    await handle.signal('setConcurrency', args.n);
    if (args.json) printJson({ sweepId: args.id, maxConcurrent: args.n });
    else process.stdout.write(`${args.id}: at most ${args.n} trials at once\n`);
  },
};

/** `--set learning_rate=1e-4` pairs, values read as YAML scalars, checked against the trial schema. */
export function parseOverrides(pairs: string[]): TrialSettings | undefined {
  if (pairs.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set wants KEY=VALUE, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, eq);
    if (!isSettingKey(key)) throw new UsageError(`--set ${key}: not a trial setting`);
    out[key] = parseYaml(pair.slice(eq + 1));
  }
  const checked = trialConfigSchema.safeParse(out);
  if (!checked.success) {
    throw new UsageError(checked.error.issues.map((i) => `--set ${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return out as TrialSettings;
}

export const sweepRerunFailedCommand: CommandModule<object, IdArgs & { set: string[]; index?: number[] }> = {
  command: 'rerun-failed <id>',
  describe: 'Run failed and cancelled trials again, optionally with changed settings',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .option('set', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'KEY=VALUE setting for the rerun, e.g. learning_rate=0.0001',
      })
      .option('index', { type: 'number', array: true, describe: 'only these trial indices' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const overrides = parseOverrides(args.set);
    const client = await connectClient();
    const out = await rerunFailed(client, args.id, { overrides, indices: args.index });
    if (args.json) printJson({ sweepId: args.id, ...out });
    else if (out.requeued.length === 0) process.stdout.write(`${args.id}: no failed or cancelled trials to rerun\n`);
    else
      process.stdout.write(
        `${args.id}: rerunning trials ${out.requeued.join(', ')}${out.restarted ? ' (sweep restarted)' : ''}\n`,
      );
  },
};

interface ExtendArgs extends IdArgs {
  seeds?: number;
  axis: string[];
  budget?: number;
}

export const sweepExtendCommand: CommandModule<object, ExtendArgs> = {
  command: 'extend <id>',
  describe:
    'Add trials to a sweep, running or finished: more seeds, axis values or search points (existing trials never rerun)',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .option('seeds', { type: 'number', describe: 'seeds per configuration after the extension (more than now)' })
      .option('axis', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'SETTING=VALUE[,VALUE...]: values to add to a grid axis, e.g. critic=concat',
      })
      .option('budget', {
        type: 'number',
        describe: "sampled points after the extension (a search's budget, more than now)",
      })
      .option('json', { type: 'boolean', default: false })
      .example('$0 sweep extend ID --seeds 5', 'seeds 0-4 for every configuration')
      .example('$0 sweep extend ID --axis critic=concat --budget 32', 'a new critic and more points'),
  handler: async (args) => {
    const axes = args.axis.length ? Object.fromEntries(args.axis.map(parseAxisArgument)) : undefined;
    const client = await connectClient();
    const out = await extendSweep(client, args.id, { seeds: args.seeds, axes, budget: args.budget });
    if (args.json) printJson({ sweepId: args.id, ...out });
    else
      process.stdout.write(
        `${args.id}: ${out.added} new trials, ${out.total} in all${out.restarted ? ' (the finished sweep restarted for them)' : ''}\n`,
      );
  },
};

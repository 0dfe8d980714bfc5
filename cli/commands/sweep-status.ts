import type { CommandModule } from 'yargs';
import { connectClient } from '../../servers/temporal-connection.js';
import { printJson } from '../output.js';
import { UsageError } from '../errors.js';
import { readSweep } from '../../client/sweeps.js';
import { renderStatus } from './sweep-render.js';
import { reconcileSweep } from '../../client/sweep-liveness.js';
import { PROGRESS_PAGE_MAX } from '../../workflows/progress.js';
import { TRIAL_STATES, type ProgressRequest, type TrialStateName } from '../../workflows/types.js';

interface Args {
  id: string;
  json: boolean;
  state?: string[];
  offset: number;
  limit?: number;
}

/** Trials a text status lists unasked; a bigger sweep lists its active and failed trials instead. */
const TEXT_LIST = 100;

function requestOf(args: Args): ProgressRequest | null {
  const states = args.state?.flatMap((s) => s.split(',')).filter(Boolean);
  for (const s of states ?? []) {
    if (!(TRIAL_STATES as readonly string[]).includes(s))
      throw new UsageError(`--state ${s}: not a trial state; allowed: ${TRIAL_STATES.join(', ')}`);
  }
  if (!Number.isInteger(args.offset) || args.offset < 0)
    throw new UsageError(`--offset must be a whole number >= 0, got ${args.offset}`);
  if (args.limit !== undefined && (!Number.isInteger(args.limit) || args.limit < 0 || args.limit > PROGRESS_PAGE_MAX)) {
    throw new UsageError(`--limit must be a whole number from 0 to ${PROGRESS_PAGE_MAX}, got ${args.limit}`);
  }
  if (!states?.length && args.offset === 0 && args.limit === undefined) return null;
  return {
    ...(states?.length ? { states: states as TrialStateName[] } : {}),
    offset: args.offset,
    ...(args.limit !== undefined ? { limit: args.limit } : {}),
  };
}

export const sweepStatusCommand: CommandModule<object, Args> = {
  command: 'status <id>',
  describe:
    'Progress of a sweep: counts per state and per axis value, a page of trials with step, metrics and liveness',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'sweep id' })
      .option('json', { type: 'boolean', default: false })
      .option('state', {
        type: 'string',
        array: true,
        describe: `only trials in these states (${TRIAL_STATES.join(', ')})`,
      })
      .option('offset', { type: 'number', default: 0, describe: 'skip this many of the listed trials' })
      .option('limit', { type: 'number', describe: `list at most this many trials (at most ${PROGRESS_PAGE_MAX})` }),
  handler: async (args) => {
    const client = await connectClient();
    const asked = requestOf(args);
    // Unasked, a big sweep lists what needs attention rather than its first trials.
    const request = asked ?? (args.json ? {} : { limit: TEXT_LIST });
    let snap = await readSweep(client, args.id, true, request);
    if (!asked && !args.json && snap.progress.total > TEXT_LIST) {
      snap = await readSweep(client, args.id, true, { states: ['running', 'failed'], limit: TEXT_LIST });
    }
    if (args.json) printJson({ status: snap.status, ...snap.progress });
    else process.stdout.write(renderStatus(snap.status, snap.progress) + '\n');
  },
};

export const sweepReconcileCommand: CommandModule<object, { id: string; json: boolean }> = {
  command: 'reconcile <id>',
  describe: 'Tell a running sweep the outcome of trials whose workflows closed without reaching it',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'sweep id' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const client = await connectClient();
    const { status } = await readSweep(client, args.id, false, { limit: 0 });
    if (status !== 'RUNNING')
      throw new UsageError(`sweep ${args.id} is ${status.toLowerCase()}, not running: nothing to reconcile`);
    const sent = await reconcileSweep(client, args.id);
    if (args.json) printJson({ sweepId: args.id, reconciled: sent });
    else if (sent.length === 0)
      process.stdout.write(`${args.id}: every running trial is running in Temporal; nothing to do\n`);
    else
      process.stdout.write(
        `${args.id}: told the sweep about ${sent.length} closed trial(s): ${sent.map((o) => `${o.index} ${o.state}`).join(', ')}\n`,
      );
  },
};

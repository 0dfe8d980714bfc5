import type { CommandModule } from 'yargs';
import { readSpecFile } from '../../sweep-spec/load.js';
import { checkWorkflowInputSize, describeSpec, SpecError } from '../../sweep-spec/index.js';
import { connectClient, sweepUiLink } from '../../servers/temporal-connection.js';
import { printJson } from '../output.js';
import { EXIT, ServerCallError, UsageError } from '../errors.js';
import { PRIORITY_KEYS, type SweepInput, type SweepOptions } from '../../workflows/types.js';
import { launchSweep, newSweepId, readSweep } from '../../client/sweeps.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';
import { progressLine } from './sweep-render.js';

interface Args {
  spec: string;
  profile?: string;
  wait: boolean;
  json: boolean;
  'heartbeat-timeout'?: number;
  'checkpoint-every'?: number;
  'continue-as-new-after'?: number;
  'max-attempts'?: number;
  priority?: number;
}

const POLL_MS = 2_000;

/** --priority as a key Temporal takes, refused before anything launches otherwise. */
export function priorityOption(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!(PRIORITY_KEYS as readonly number[]).includes(value))
    throw new UsageError(`--priority must be one of ${PRIORITY_KEYS.join(', ')} (1 runs first), got ${value}`);
  return value;
}

export const sweepLaunchCommand: CommandModule<object, Args> = {
  command: 'launch <spec>',
  describe: 'Validate a sweep spec and start it on Temporal',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true })
      .option('profile', { type: 'string', describe: 'apply a profile of the spec' })
      .option('wait', { type: 'boolean', default: false, describe: 'follow progress until the sweep ends' })
      .option('json', { type: 'boolean', default: false })
      .option('heartbeat-timeout', {
        type: 'number',
        describe: 'seconds without a heartbeat before a trial moves to another worker (default 60)',
      })
      .option('checkpoint-every', { type: 'number', describe: 'checkpoint every N steps (default: each evaluation)' })
      .option('continue-as-new-after', {
        type: 'number',
        describe: 'trial starts per workflow run before continue-as-new (default 500)',
      })
      .option('max-attempts', { type: 'number', describe: 'attempts per trial on retryable failures (default 5)' })
      .option('priority', {
        type: 'number',
        describe:
          "Temporal priority of the sweep's trials, 1 (first) to 5 (last): workers take queued trials of a lower number first, across sweeps (default 3)",
      })
      .example('$0 sweep launch sweeps/smoke.yaml --profile quick --wait', '')
      .example(
        '$0 sweep launch sweeps/adversarial.yaml --priority 1',
        "its trials go before other sweeps' queued ones",
      ),
  handler: async (args) => {
    // The text as written (comments included) goes to the sweep's MLflow run as spec.yaml.
    const { spec, text } = readSpecFile(args.spec);
    const profile = args.profile ?? null;
    // Reading checked every resolved trial configuration and describing refuses an unknown
    // profile: a bad spec launches nothing.
    const d = describeSpec(spec, profile);
    const priority = priorityOption(args.priority);
    const trials = d.trialCount;
    const options: SweepOptions = {};
    if (args['heartbeat-timeout'] !== undefined) options.heartbeatTimeoutMs = args['heartbeat-timeout'] * 1000;
    if (args['checkpoint-every'] !== undefined) options.checkpointEvery = args['checkpoint-every'];
    if (args['continue-as-new-after'] !== undefined) options.continueAsNewAfterStarts = args['continue-as-new-after'];
    if (args['max-attempts'] !== undefined) options.maxAttempts = args['max-attempts'];
    if (priority !== undefined) options.priority = priority;
    // The input as it will travel, with an id of the real one's length: a spec too big for
    // Temporal fails here, naming the file, not after the server's retries.
    const input: SweepInput = {
      spec,
      sweepId: newSweepId(spec),
      profile,
      options,
      specText: text,
      dataPath: DATA_PATH_VERSION,
    };
    checkWorkflowInputSize(args.spec, input);
    const client = await connectClient();
    let sweepId: string;
    try {
      sweepId = await launchSweep(client, spec, profile, options, text);
    } catch (err) {
      if (err instanceof SpecError || err instanceof UsageError) throw err;
      throw new ServerCallError('could not start the sweep on Temporal', err);
    }
    const ui = sweepUiLink(sweepId);
    if (!args.json) {
      process.stdout.write(`${sweepId}\n`);
      process.stderr.write(
        `launched ${trials} trials on ${d.taskQueue}, at most ${d.maxConcurrentTrials} at once${
          priority ? `, priority ${priority}` : ''
        }\n${ui}\n`,
      );
    }
    if (!args.wait) {
      if (args.json)
        printJson({ sweepId, trials, taskQueue: d.taskQueue, maxConcurrentTrials: d.maxConcurrentTrials, ui });
      return;
    }
    let last = '';
    for (;;) {
      const { status, progress } = await readSweep(client, sweepId, false);
      const line = progressLine(progress);
      if (!args.json && line !== last) process.stderr.write(`${line}\n`);
      last = line;
      if (status !== 'RUNNING') {
        if (args.json) printJson({ sweepId, ui, status, progress });
        else process.stdout.write(`sweep ${status.toLowerCase()}: ${line}\n`);
        if (status !== 'COMPLETED' || progress.counts.failed > 0) process.exitCode = EXIT.failed;
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  },
};

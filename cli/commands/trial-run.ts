import type { CommandModule } from 'yargs';
import { loadSpecFile } from '../../sweep-spec/load.js';
import { trialAt } from '../../sweep-spec/expand.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';
import { BACKENDS } from '../../ml/config.js';
import type { BackendRequest } from '../../ml/backend.js';
import type { MetricsReport, TrialResult } from '../../ml/run-trial.js';
import { printJson, formatMetrics } from '../output.js';
import { UsageError } from '../errors.js';
import { stackRefusal } from '../../ml/stackable.js';
import type { Trial } from '../../sweep-spec/expand.js';

interface Args {
  spec: string;
  index: number[];
  profile?: string;
  backend: BackendRequest;
  json: boolean;
}

export const trialRunCommand: CommandModule<object, Args> = {
  command: 'run <spec>',
  describe:
    'Run one trial of a sweep spec in this process (no Temporal, no MLflow); several seeds of one configuration run as one seed stack',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'sweep spec YAML' })
      .option('index', {
        type: 'number',
        array: true,
        demandOption: true,
        describe: 'trial index in the expansion (see `mirl sweep validate`); several: trained together as a seed stack',
      })
      .option('profile', { type: 'string', describe: 'a profile of the spec, e.g. quick' })
      .option('backend', { choices: BACKENDS, default: 'auto' as BackendRequest, describe: 'TensorFlow.js backend' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .example('$0 trial run sweeps/smoke.yaml --index 0', 'first trial of the smoke sweep')
      .example('$0 trial run sweeps/smoke.yaml --index 1 --profile quick --json', 'a quick trial, JSON result')
      .example('$0 trial run sweeps/smoke.yaml --index 0 1', 'both seeds of the bilinear critic as one stack'),
  handler: async (args) => {
    const spec = loadSpecFile(args.spec);
    const trials = args.index.map((index) =>
      trialAt(spec, index, {
        sweepId: `${spec.name}-local`,
        profile: args.profile ?? null,
        file: args.spec,
        dataPath: DATA_PATH_VERSION,
      }),
    );
    if (trials.length > 1) {
      const refusal = stackRefusal(trials.map((t) => t.config));
      if (refusal) throw new UsageError(`trials ${args.index.join(', ')} cannot train as one seed stack: ${refusal}`);
    }
    const log = (line: string): void => {
      if (!args.json) process.stderr.write(line + '\n');
    };
    for (const trial of trials) log(`trial ${trial.index} ${trial.runName} (${trial.trialId})`);
    const results = trials.length === 1 ? [await runOne(trials[0], args, log)] : await runStack(trials, args, log);
    if (args.json) {
      const rows = trials.map((t, i) => ({ trialId: t.trialId, runName: t.runName, axes: t.axes, ...results[i] }));
      printJson(rows.length === 1 ? rows[0] : rows);
      return;
    }
    trials.forEach((trial, i) => {
      const r = results[i];
      process.stdout.write(
        `${trial.runName}: ${r.status} at step ${r.step} on ${r.backend} in ${r.seconds.toFixed(1)} s ` +
          `(${r.msPerStep.toFixed(1)} ms/step)\n${formatMetrics(r.eval)}\n`,
      );
    });
  },
};

type Log = (line: string) => void;

async function runOne(trial: Trial, args: Args, log: Log): Promise<TrialResult> {
  // Loaded on use: every `mirl` command would otherwise pay for TensorFlow.js at start-up.
  const { runTrial } = await import('../../ml/run-trial.js');
  return runTrial(trial.config, {
    backend: args.backend,
    onTrainMetrics: (m) => log(`step ${m.step} ${formatMetrics(m.metrics)}`),
    onEvalMetrics: (m) => log(`eval step ${m.step} ${formatMetrics(m.metrics)}`),
  });
}

async function runStack(trials: Trial[], args: Args, log: Log): Promise<TrialResult[]> {
  const [{ initBackend }, { StackRun }] = await Promise.all([
    import('../../ml/backend.js'),
    import('../../ml/run-stack.js'),
  ]);
  const backend = await initBackend(args.backend);
  const members = trials.map((t) => ({
    config: t.config,
    resumeFrom: null,
    checkpointEvery: 0,
    onTrainMetrics: (m: MetricsReport) => log(`[${t.index}] step ${m.step} ${formatMetrics(m.metrics)}`),
    onEvalMetrics: (m: MetricsReport) => log(`[${t.index}] eval step ${m.step} ${formatMetrics(m.metrics)}`),
  }));
  const outcomes = await new StackRun(members, backend).run();
  return outcomes.map((o, i) => {
    if (!o.ok) throw new Error(`trial ${trials[i].index}: ${o.error.message}`);
    return o.result;
  });
}

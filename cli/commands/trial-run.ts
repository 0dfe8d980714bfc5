import type { CommandModule } from 'yargs';
import { loadSpecFile } from '../../sweep-spec/load.js';
import { trialAt } from '../../sweep-spec/expand.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';
import { BACKENDS } from '../../ml/config.js';
import type { BackendRequest } from '../../ml/backend.js';
import { printJson, formatMetrics } from '../output.js';

interface Args {
  spec: string;
  index: number;
  profile?: string;
  backend: BackendRequest;
  json: boolean;
}

export const trialRunCommand: CommandModule<object, Args> = {
  command: 'run <spec>',
  describe: 'Run one trial of a sweep spec in this process (no Temporal, no MLflow)',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'sweep spec YAML' })
      .option('index', {
        type: 'number',
        demandOption: true,
        describe: 'trial index in the expansion (see `mirl sweep validate`)',
      })
      .option('profile', { type: 'string', describe: 'a profile of the spec, e.g. quick' })
      .option('backend', { choices: BACKENDS, default: 'auto' as BackendRequest, describe: 'TensorFlow.js backend' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .example('$0 trial run sweeps/smoke.yaml --index 0', 'first trial of the smoke sweep')
      .example('$0 trial run sweeps/smoke.yaml --index 1 --profile quick --json', 'a quick trial, JSON result'),
  handler: async (args) => {
    const spec = loadSpecFile(args.spec);
    const trial = trialAt(spec, args.index, {
      sweepId: `${spec.name}-local`,
      profile: args.profile ?? null,
      file: args.spec,
      dataPath: DATA_PATH_VERSION,
    });
    const log = (line: string): void => {
      if (!args.json) process.stderr.write(line + '\n');
    };
    log(`trial ${trial.index} ${trial.runName} (${trial.trialId})`);
    // Loaded on use: every `mirl` command would otherwise pay for TensorFlow.js at start-up.
    const { runTrial } = await import('../../ml/run-trial.js');
    const result = await runTrial(trial.config, {
      backend: args.backend,
      onTrainMetrics: (m) => log(`step ${m.step} ${formatMetrics(m.metrics)}`),
      onEvalMetrics: (m) => log(`eval step ${m.step} ${formatMetrics(m.metrics)}`),
    });
    if (args.json) printJson({ trialId: trial.trialId, runName: trial.runName, axes: trial.axes, ...result });
    else {
      process.stdout.write(
        `${trial.runName}: ${result.status} at step ${result.step} on ${result.backend} in ${result.seconds.toFixed(1)} s ` +
          `(${result.msPerStep.toFixed(1)} ms/step)\n${formatMetrics(result.eval)}\n`,
      );
    }
  },
};

import type { CommandModule } from 'yargs';
import type { BackendRequest } from '../../ml/backend.js';
import { BACKENDS, VIEWS, parseTrialConfig } from '../../ml/config.js';
import { UsageError } from '../errors.js';
import { printJson } from '../output.js';

interface Args {
  encoder: string;
  view: 'top' | 'bottom';
  noise: number;
  'train-size'?: number;
  'test-size'?: number;
  'max-iter': number;
  c: number;
  seed: number;
  backend: BackendRequest;
  json: boolean;
}

export const linearEvalCommand: CommandModule<object, Args> = {
  command: 'linear-eval',
  describe: 'Linear-evaluation accuracy of raw MNIST pixels (the baseline trained encoders must beat)',
  builder: (y) =>
    y
      .option('encoder', {
        type: 'string',
        default: 'identity',
        describe: 'only "identity" (raw pixels) is meaningful untrained',
      })
      .option('view', { choices: VIEWS, default: 'top' as const })
      .option('noise', { type: 'number', default: 0, describe: 'std of Gaussian noise added to the pixels' })
      .option('train-size', { type: 'number', describe: 'subsample the 60,000 training images' })
      .option('test-size', { type: 'number', describe: 'subsample the 10,000 test images' })
      .option('max-iter', {
        type: 'number',
        default: parseTrialConfig({}).linear_eval_max_iter,
        describe: "L-BFGS iteration budget (default: the trials' own)",
      })
      .option('c', { type: 'number', default: 10, describe: "inverse regularisation strength (scikit-learn's C)" })
      .option('seed', { type: 'number', default: 0 })
      .option('backend', { choices: BACKENDS, default: 'auto' as BackendRequest })
      .option('json', { type: 'boolean', default: false })
      .example('$0 linear-eval --encoder identity --view top --noise 0.05', 'the sanity value (about 0.835)'),
  handler: async (args) => {
    if (args.encoder !== 'identity') {
      throw new UsageError(
        `linear-eval --encoder "${args.encoder}": only "identity" is supported here; trained encoders are evaluated inside their trials`,
      );
    }
    // Loaded on use: every `mirl` command would otherwise pay for TensorFlow.js at start-up.
    const [{ initBackend }, { mnistEvalData }, { linearEvaluation }] = await Promise.all([
      import('../../ml/backend.js'),
      import('../../ml/eval-data.js'),
      import('../../ml/eval/linear.js'),
    ]);
    const backend = await initBackend(args.backend);
    const cfg = parseTrialConfig({
      view1: args.view,
      noise: args.noise,
      linear_eval_train_size: args['train-size'] ?? null,
      linear_eval_test_size: args['test-size'] ?? null,
      seed: args.seed,
    });
    const e = mnistEvalData(cfg);
    const r = await linearEvaluation(
      { values: e.trainX, labels: e.trainLabels, n: e.trainN, dim: e.dim },
      { values: e.testX, labels: e.testLabels, n: e.testN, dim: e.dim },
      { c: args.c, maxIter: args['max-iter'] },
    );
    const out = {
      encoder: args.encoder,
      view: args.view,
      noise: args.noise,
      train: e.trainN,
      test: e.testN,
      backend,
      ...r,
    };
    if (args.json) printJson(out);
    else
      process.stdout.write(
        `accuracy ${r.accuracy.toFixed(4)} (train ${r.trainAccuracy.toFixed(4)}; ${e.trainN} train / ${e.testN} test; ${r.iterations} iterations, ${r.converged ? 'converged' : `not converged (${r.stopped})`}; ${r.seconds.toFixed(1)} s on ${backend})\n`,
      );
  },
};

import type { CommandModule } from 'yargs';
import { availableBackends, type BackendName } from '../../ml/backend.js';
import { runBench, ALL_CASES } from '../../bench/run.js';
import { printJson } from '../output.js';
import { UsageError } from '../errors.js';

interface Args {
  backends?: string[];
  cases?: string[];
  steps: number;
  'slow-steps': number;
  json: boolean;
}

export const benchCommand: CommandModule<object, Args> = {
  command: 'bench',
  describe: 'Measure training and evaluation speed on every available backend, side by side',
  builder: (y) =>
    y
      .option('backends', { type: 'array', string: true, describe: 'subset of tensorflow, wasm, cpu (default: all that load)' })
      .option('cases', { type: 'array', string: true, describe: `subset of: ${ALL_CASES.join(', ')}` })
      .option('steps', { type: 'number', default: 200, describe: 'timed steps per fast model (median reported)' })
      .option('slow-steps', { type: 'number', default: 8, describe: 'timed steps for ConvNet/RealNVP and the plain JS backend' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 bench --json > docs/bench.json', 'the full benchmark')
      .example('$0 bench --cases mlp+bilinear --steps 50', 'one model, quickly'),
  handler: async (args) => {
    const backends = (args.backends as BackendName[] | undefined) ?? (await availableBackends());
    const cases = args.cases ?? ALL_CASES;
    const unknown = cases.filter((c) => !ALL_CASES.includes(c));
    if (unknown.length) throw new UsageError(`unknown bench case ${unknown.join(', ')}; valid: ${ALL_CASES.join(', ')}`);
    const result = await runBench({
      backends,
      cases,
      steps: args.steps,
      warmup: 10,
      slowSteps: args['slow-steps'],
      linearEvalMaxIter: 100,
      jacobianInputs: 128,
      log: (line) => process.stderr.write(line + '\n'),
    });
    if (args.json) printJson(result);
    else for (const row of result.rows) process.stdout.write(JSON.stringify(row) + '\n');
  },
};

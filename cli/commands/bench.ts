import os from 'node:os';
import type { CommandModule } from 'yargs';
import { availableBackends, type BackendName } from '../../ml/backend.js';
import { parseTrialConfig } from '../../ml/config.js';
import { runBench, ALL_CASES } from '../../bench/run.js';
import { printJson } from '../output.js';
import { UsageError } from '../errors.js';

interface Args {
  backends?: string[];
  cases?: string[];
  steps: number;
  'slow-steps': number;
  'linear-eval-max-iter'?: number;
  'jacobian-inputs': number;
  'orchestration-trials': number;
  'memory-steps': number;
  json: boolean;
}

function nonNegativeInt(v: number, flag: string): number {
  if (!Number.isInteger(v) || v < 0) throw new UsageError(`${flag} must be a whole number >= 0, got ${v}`);
  return v;
}

export const benchCommand: CommandModule<object, Args> = {
  command: 'bench',
  describe: 'Measure training, evaluation and orchestration speed on every available backend, side by side, against the speed targets',
  builder: (y) =>
    y
      .option('backends', { type: 'array', string: true, describe: 'subset of tensorflow, wasm, cpu (default: all that load)' })
      .option('cases', { type: 'array', string: true, describe: `subset of: ${ALL_CASES.join(', ')}` })
      .option('steps', { type: 'number', default: 200, describe: 'timed steps per fast model (median reported)' })
      .option('slow-steps', { type: 'number', default: 8, describe: 'timed steps for ConvNet/RealNVP and the plain JS backend' })
      .option('linear-eval-max-iter', { type: 'number', describe: 'L-BFGS iterations of the timed linear evaluation (default: the trial default)' })
      .option('jacobian-inputs', { type: 'number', default: 128, describe: 'Jacobians (392 x 392) whose condition numbers are timed' })
      .option('orchestration-trials', { type: 'number', default: 100, describe: 'one-step trials through a throwaway Temporal server and worker (0: skip)' })
      .option('memory-steps', { type: 'number', default: 5000, describe: 'steps of the trainer-memory run (0: skip)' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 bench --json > docs/bench.json', 'the full benchmark')
      .example('$0 bench --cases mlp+bilinear --steps 50 --orchestration-trials 0 --memory-steps 0', 'one model, quickly'),
  handler: async (args) => {
    const backends = (args.backends as BackendName[] | undefined) ?? (await availableBackends());
    const cases = args.cases ?? ALL_CASES;
    const unknown = cases.filter((c) => !ALL_CASES.includes(c));
    if (unknown.length) throw new UsageError(`unknown bench case ${unknown.join(', ')}; valid: ${ALL_CASES.join(', ')}`);
    const result = await runBench({
      backends,
      cases,
      steps: nonNegativeInt(args.steps, '--steps'),
      warmup: 10,
      slowSteps: nonNegativeInt(args['slow-steps'], '--slow-steps'),
      // What a study runs with, unless asked otherwise.
      linearEvalMaxIter: args['linear-eval-max-iter'] ?? parseTrialConfig({}).linear_eval_max_iter,
      linearEvalReferenceMaxIter: 3000,
      jacobianInputs: nonNegativeInt(args['jacobian-inputs'], '--jacobian-inputs'),
      jacobianSvdCheck: 8,
      orchestrationTrials: nonNegativeInt(args['orchestration-trials'], '--orchestration-trials'),
      orchestrationConcurrency: Math.max(1, os.cpus().length),
      memorySteps: nonNegativeInt(args['memory-steps'], '--memory-steps'),
      log: (line) => process.stderr.write(line + '\n'),
    });
    if (args.json) printJson(result);
    else {
      for (const row of result.rows) process.stdout.write(JSON.stringify(row) + '\n');
      for (const t of result.targets) {
        const verdict = t.pass === null ? 'not measured' : t.pass ? 'pass' : 'FAIL';
        const measured = t.measured === null ? '-' : Number(t.measured.toPrecision(4));
        process.stdout.write(`${verdict.padEnd(12)} ${t.target}${t.backend ? ` [${t.backend}]` : ''}: ${measured} ${t.unit} (target <= ${t.limit})\n`);
      }
    }
  },
};

import { STEP_PATHS, type StepPath } from '../../ml/step-path.js';
import os from 'node:os';
import type { CommandModule } from 'yargs';
import type { BackendName } from '../../ml/backend.js';
import { BACKENDS, parseTrialConfig } from '../../ml/config.js';
import { BENCH_CASES } from '../../bench/cases.js';

const ALL_CASES = Object.keys(BENCH_CASES);
import { printJson } from '../output.js';
import { EXIT, UsageError } from '../errors.js';
import { MlflowClient } from '../../tracking/index.js';
import { connectClient } from '../../servers/temporal-connection.js';
import { readState } from '../stack/state.js';
import { stackPaths } from '../stack/home.js';
import { onStack, withHomeOption, type HomeArgs } from '../stack-option.js';
import type { StackTarget } from '../stack/env.js';
import type { ScaleOptions } from '../../bench/sweep-scale.js';
import { launchSweep } from '../../client/sweeps.js';

interface Args extends HomeArgs {
  backends?: string[];
  cases?: string[];
  steps: number;
  'slow-steps': number;
  'linear-eval-max-iter'?: number;
  'jacobian-inputs': number;
  'orchestration-trials': number;
  'memory-steps': number;
  scale: number;
  'scale-concurrency': number;
  'continue-as-new-after'?: number;
  'scale-attach'?: string;
  peer?: string;
  'peer-rounds': number;
  'seed-stack': number;
  'stack-study'?: string;
  'stack-study-profile': string;
  'stack-study-rounds': number;
  'path-study'?: string;
  'path-study-profile': string;
  'path-study-rounds': number;
  'path-study-paths': string[];
  json: boolean;
}

/** `--scale N`: a sweep of N one-step trials through the running stack, audited in Temporal and MLflow. */
async function runScale(args: Args, stack: StackTarget): Promise<void> {
  const client = await connectClient();
  const mlflow = MlflowClient.fromEnv({});
  // The worker's process group is audited only when the stack is a home's: one named by address has no state file.
  const worker =
    stack.temporal.from === 'home' ? readState(stackPaths(stack.home).stateFile)?.services.worker : undefined;
  // Loaded on use: every `mirl` command would otherwise pay for TensorFlow.js at start-up.
  const { attachScale, measureScale } = await import('../../bench/sweep-scale.js');
  const options: ScaleOptions = {
    client,
    mlflow,
    trials: args.scale,
    concurrency: nonNegativeInt(args['scale-concurrency'], '--scale-concurrency') || 1,
    continueAsNewAfter: args['continue-as-new-after'],
    launch: (spec, options) => launchSweep(client, spec, null, options),
    workerGroups: worker ? [worker.pgid] : [],
    log: (line: string) => process.stderr.write(line + '\n'),
  };
  const attach = args['scale-attach'];
  const row = attach ? await attachScale(options, attach) : await measureScale(options);
  if (args.json) printJson({ rows: [row] });
  else process.stdout.write(JSON.stringify(row) + '\n');
  if (row.every_trial_once !== true) process.exitCode = EXIT.failed;
}

function nonNegativeInt(v: number, flag: string): number {
  if (!Number.isInteger(v) || v < 0) throw new UsageError(`${flag} must be a whole number >= 0, got ${v}`);
  return v;
}

function peerRounds(v: number): number {
  if (nonNegativeInt(v, '--peer-rounds') < 1) throw new UsageError('--peer-rounds must be at least 1');
  return v;
}

export const benchCommand: CommandModule<object, Args> = {
  command: 'bench',
  describe:
    'Measure training, evaluation and orchestration speed on every available backend, side by side, against the speed targets',
  builder: (y) =>
    withHomeOption(y)
      .option('backends', {
        type: 'array',
        string: true,
        choices: BACKENDS.filter((b) => b !== 'auto'),
        describe: 'backends to measure (default: all that load, webgpu only on a hardware adapter)',
      })
      .option('cases', { type: 'array', string: true, describe: `subset of: ${ALL_CASES.join(', ')}` })
      .option('steps', { type: 'number', default: 200, describe: 'timed steps per fast model (median reported)' })
      .option('slow-steps', {
        type: 'number',
        default: 8,
        describe: 'timed steps for ConvNet/RealNVP and the plain JS backend',
      })
      .option('linear-eval-max-iter', {
        type: 'number',
        describe: 'L-BFGS iterations of the timed linear evaluation (default: the trial default)',
      })
      .option('jacobian-inputs', {
        type: 'number',
        default: 128,
        describe: 'Jacobians (392 x 392) whose condition numbers are timed',
      })
      .option('orchestration-trials', {
        type: 'number',
        default: 100,
        describe: 'one-step trials through a throwaway Temporal server and worker (0: skip)',
      })
      .option('memory-steps', { type: 'number', default: 5000, describe: 'steps of the trainer-memory run (0: skip)' })
      .option('scale', {
        type: 'number',
        default: 0,
        describe:
          'instead: a sweep of N one-step trials through the running stack (`mirl up`), audited in Temporal and MLflow',
      })
      .option('scale-concurrency', { type: 'number', default: 8, describe: 'trials at once in the --scale sweep' })
      .option('scale-attach', {
        type: 'string',
        describe:
          'instead of launching: follow a --scale sweep launched earlier (its bench process ended) to its close and report its figures',
      })
      .option('continue-as-new-after', {
        type: 'number',
        describe: 'starts per workflow run in the --scale sweep (default 500)',
      })
      .option('peer', {
        type: 'string',
        choices: ['jax'],
        describe:
          'also time the same train steps in JAX on CPU (own venv, installed on first use), alternating with mirl, and report mirl/peer',
      })
      .option('peer-rounds', {
        type: 'number',
        default: 2,
        describe: 'alternating rounds per side and case with --peer (best round median kept)',
      })
      .option('seed-stack', {
        type: 'number',
        default: 0,
        describe:
          'also time S seeds trained as one stacked computation against one seed alone, per stackable case (0: skip)',
      })
      .option('stack-study', {
        type: 'string',
        describe:
          "also: a study spec's stackable trials run alone and as seed stacks, alternating, in as many processes as a worker runs trainers (trials per hour)",
      })
      .option('stack-study-profile', { type: 'string', default: 'quick', describe: 'profile of --stack-study' })
      .option('stack-study-rounds', { type: 'number', default: 2, describe: 'alternating rounds of --stack-study' })
      .option('path-study', {
        type: 'string',
        describe:
          "also: a study spec's trials run to their ends on each step path (--path-study-paths), alternating, in as many processes as a worker runs trainers (trials per hour)",
      })
      .option('path-study-profile', { type: 'string', default: 'quick', describe: 'profile of --path-study' })
      .option('path-study-rounds', { type: 'number', default: 2, describe: 'alternating rounds of --path-study' })
      .option('path-study-paths', {
        type: 'array',
        string: true,
        choices: STEP_PATHS,
        default: ['fast', 'graph'],
        describe: 'step paths of --path-study, the first the baseline its gain is taken against',
      })
      .option('json', { type: 'boolean', default: false })
      .example('$0 bench --scale 20000 --json', 'a 20,000-trial sweep through the local stack')
      .example('$0 bench --json > docs/bench.json', 'the full benchmark')
      .example(
        '$0 bench --cases mlp+bilinear --seed-stack 4 --stack-study sweeps/critic-capacity.yaml --orchestration-trials 0 --memory-steps 0',
        'what training seeds as stacks buys, per step and in trials per hour',
      )
      .example(
        '$0 bench --cases mlp+bilinear --path-study sweeps/critic-capacity.yaml --orchestration-trials 0 --memory-steps 0',
        'a whole quick study on the fast and the graph step paths, in trials per hour',
      )
      .example(
        '$0 bench --cases mlp+bilinear --steps 50 --orchestration-trials 0 --memory-steps 0',
        'one model, quickly',
      )
      .example(
        '$0 bench --peer jax --backends tensorflow --cases mlp+bilinear --orchestration-trials 0 --memory-steps 0',
        'mirl against JAX on the same step',
      ),
  handler: async (args) => {
    if (nonNegativeInt(args.scale, '--scale') > 0 || args['scale-attach'])
      return onStack(args.home, ['temporal', 'mlflow'], (stack) => runScale(args, stack));
    const [{ availableBackends }, { webgpuAdapter }, { runBench }] = await Promise.all([
      import('../../ml/backend.js'),
      import('../../ml/webgpu.js'),
      import('../../bench/run.js'),
    ]);
    // webgpu on a software adapter (lavapipe) is the CPU again, slower than tensorflow and
    // wasm there: measured only when named.
    const backends =
      (args.backends as BackendName[] | undefined) ??
      (await availableBackends()).filter((b) => b !== 'webgpu' || !webgpuAdapter()?.software);
    const cases = args.cases ?? ALL_CASES;
    const unknown = cases.filter((c) => !ALL_CASES.includes(c));
    if (unknown.length)
      throw new UsageError(`unknown bench case ${unknown.join(', ')}; valid: ${ALL_CASES.join(', ')}`);
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
      seedStack: nonNegativeInt(args['seed-stack'], '--seed-stack'),
      ...(args['stack-study']
        ? {
            stackStudy: {
              spec: args['stack-study'],
              profile: args['stack-study-profile'] || null,
              lanes: os.availableParallelism(),
              rounds: Math.max(1, nonNegativeInt(args['stack-study-rounds'], '--stack-study-rounds')),
            },
          }
        : {}),
      ...(args['path-study']
        ? {
            pathStudy: {
              spec: args['path-study'],
              profile: args['path-study-profile'] || null,
              lanes: os.availableParallelism(),
              rounds: Math.max(1, nonNegativeInt(args['path-study-rounds'], '--path-study-rounds')),
              paths: args['path-study-paths'] as StepPath[],
            },
          }
        : {}),
      ...(args.peer ? { peer: { name: 'jax' as const, rounds: peerRounds(args['peer-rounds']) } } : {}),
      log: (line) => process.stderr.write(line + '\n'),
    });
    if (args.json) printJson(result);
    else {
      for (const row of result.rows) process.stdout.write(JSON.stringify(row) + '\n');
      for (const t of result.targets) {
        const verdict = t.pass === null ? 'not measured' : t.pass ? 'pass' : 'FAIL';
        const measured = t.measured === null ? '-' : Number(t.measured.toPrecision(4));
        process.stdout.write(
          `${verdict.padEnd(12)} ${t.target}${t.backend ? ` [${t.backend}]` : ''}: ${measured} ${t.unit} (target <= ${t.limit})\n`,
        );
      }
    }
  },
};

import path from 'node:path';
import type { CommandModule } from 'yargs';
import { BACKENDS } from '../../ml/config.js';
import { TASK_QUEUES } from '../../sweep-spec/index.js';
import { printJson } from '../output.js';
import { DEFAULT_HOME, stackHome } from '../stack/home.js';
import { checkPortNumber } from '../stack/ports.js';
import { stackUp, type UpReport } from '../stack/stack.js';
import type { StackPorts } from '../stack/state.js';
import { withHomeOption, type HomeArgs } from '../stack-option.js';

interface Args extends HomeArgs {
  'temporal-port'?: number;
  'temporal-ui-port'?: number;
  'mlflow-port'?: number;
  'task-queue': string;
  'max-concurrent'?: number;
  backend?: string;
  json: boolean;
}

export function renderUp(r: UpReport): string {
  const lines = r.services.map((s) => {
    const how = s.status === 'started' ? `started in ${s.seconds.toFixed(1)} s` : 'already running';
    return `${s.name.padEnd(9)} ${how} (pid ${s.pid}, log ${s.log})`;
  });
  const fresh = r.services.some((s) => s.status === 'started');
  return [
    ...lines,
    fresh ? `stack up in ${r.home}` : `stack already running in ${r.home}; nothing to do`,
    `Temporal:    ${r.temporalAddress}`,
    `Temporal UI: ${r.temporalUi}`,
    `MLflow UI:   ${r.mlflowUri}`,
    ...findIt(r),
  ].join('\n');
}

/** How later commands find this stack: without --home or MIRL_HOME, only from the directory of ./.mirl. */
function findIt(r: UpReport): string[] {
  const here = r.home === path.resolve(DEFAULT_HOME);
  return [
    here
      ? `mirl commands run in this directory find it; from elsewhere pass --home ${r.home} (or set MIRL_HOME)`
      : `later mirl commands find it with --home ${r.home} (or MIRL_HOME=${r.home})`,
    `  clients without mirl's state file: TEMPORAL_ADDRESS=${r.temporalAddress} MLFLOW_TRACKING_URI=${r.mlflowUri}`,
    `stop it with \`mirl down${here ? '' : ` --home ${r.home}`}\` (data stays)`,
  ];
}

export const upCommand: CommandModule<object, Args> = {
  command: 'up',
  describe: 'Start the local stack in the background: Temporal dev server, MLflow server, one worker',
  builder: (y) =>
    withHomeOption(y)
      .option('temporal-port', { type: 'number', describe: 'Temporal gRPC port (default 7233)' })
      .option('temporal-ui-port', { type: 'number', describe: 'Temporal UI port (default: gRPC port + 1000)' })
      .option('mlflow-port', { type: 'number', describe: 'MLflow server and UI port (default 5000)' })
      .option('task-queue', { type: 'string', default: TASK_QUEUES.cpu, describe: "the worker's trial queue" })
      .option('max-concurrent', { type: 'number', describe: 'trials at once on the worker' })
      .option('backend', { choices: BACKENDS, describe: 'TensorFlow.js backend for the worker' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 up', 'ports 7233 (UI 8233) and 5000')
      .example('$0 up --temporal-port 17233 --mlflow-port 15000', 'next to another stack'),
  handler: async (args) => {
    const ports: Partial<StackPorts> = {};
    if (args['temporal-port'] !== undefined) ports.temporal = args['temporal-port'];
    if (args['temporal-ui-port'] !== undefined) ports.temporalUi = args['temporal-ui-port'];
    if (args['mlflow-port'] !== undefined) ports.mlflow = args['mlflow-port'];
    for (const [key, flag] of [
      ['temporal', '--temporal-port'],
      ['temporalUi', '--temporal-ui-port'],
      ['mlflow', '--mlflow-port'],
    ] as const) {
      if (ports[key] !== undefined) checkPortNumber(ports[key]!, flag);
    }
    const report = await stackUp({
      home: stackHome(args.home),
      ports,
      worker: { taskQueue: args['task-queue'], maxConcurrent: args['max-concurrent'], backend: args.backend },
      progress: args.json ? undefined : (line) => process.stderr.write(`[up] ${line}\n`),
    });
    if (args.json) printJson(report);
    else process.stdout.write(renderUp(report) + '\n');
  },
};

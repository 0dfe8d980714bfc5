// The mirl command tree, apart from running it (cli/main.ts), so that tests can walk it.
// Every command that talks to the stack is wrapped here with the servers it needs: one
// list to read for which commands take --home, and one way for all of them to find it.
import yargs, { type Argv } from 'yargs';
import { trialRunCommand } from './commands/trial-run.js';
import { linearEvalCommand } from './commands/linear-eval.js';
import { sweepValidateCommand } from './commands/sweep-validate.js';
import { benchCommand } from './commands/bench.js';
import { sweepLaunchCommand } from './commands/sweep-launch.js';
import { sweepReconcileCommand, sweepStatusCommand } from './commands/sweep-status.js';
import { sweepListCommand } from './commands/sweep-list.js';
import {
  sweepCancelCommand,
  sweepPauseCommand,
  sweepRerunFailedCommand,
  sweepExtendCommand,
  sweepResumeCommand,
  sweepSetConcurrencyCommand,
} from './commands/sweep-control.js';
import { workerCommand } from './commands/worker.js';
import { upCommand } from './commands/up.js';
import { downCommand } from './commands/down.js';
import { sweepWatchCommand } from './commands/sweep-watch.js';
import { sweepAuditCommand } from './commands/sweep-audit.js';
import { compareCommand } from './commands/compare.js';
import { reportCommand } from './commands/report.js';
import { stackCommand } from './stack-option.js';

const TEMPORAL = ['temporal'] as const;
const MLFLOW = ['mlflow'] as const;
const BOTH = ['temporal', 'mlflow'] as const;

// up, down and bench take --home themselves: up and down manage the home rather than
// talk through it, and bench talks to the stack only with --scale.
export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('mirl')
    .usage('$0 <command> [options]\n\nSweeps of mutual-information representation-learning studies.')
    .command('trial', 'Run single trials locally', (y) =>
      y.command(trialRunCommand).demandCommand(1, 'name a trial command').recommendCommands(),
    )
    .command('sweep', 'Validate and run sweeps', (y) =>
      y
        .command(sweepValidateCommand)
        .command(stackCommand(TEMPORAL, sweepLaunchCommand))
        .command(stackCommand(TEMPORAL, sweepStatusCommand))
        .command(stackCommand(TEMPORAL, sweepReconcileCommand))
        .command(stackCommand(TEMPORAL, sweepWatchCommand))
        .command(stackCommand(TEMPORAL, sweepListCommand))
        .command(stackCommand(TEMPORAL, sweepPauseCommand))
        .command(stackCommand(TEMPORAL, sweepResumeCommand))
        .command(stackCommand(TEMPORAL, sweepCancelCommand))
        .command(stackCommand(TEMPORAL, sweepSetConcurrencyCommand))
        .command(stackCommand(TEMPORAL, sweepRerunFailedCommand))
        .command(stackCommand(TEMPORAL, sweepExtendCommand))
        .command(stackCommand(BOTH, sweepAuditCommand))
        .demandCommand(1, 'name a sweep command')
        // A mistyped command gets "Did you mean ...?" (yargs compares it with the known ones).
        .recommendCommands(),
    )
    .command(upCommand)
    .command(downCommand)
    .command(stackCommand(MLFLOW, compareCommand))
    .command(stackCommand(MLFLOW, reportCommand))
    .command(stackCommand(TEMPORAL, workerCommand))
    .command(linearEvalCommand)
    .command(benchCommand)
    .option('verbose', { type: 'boolean', default: false, describe: 'print stack traces on errors' })
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .strict()
    .completion('completion', 'print a shell completion script')
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns ?? 100));
}

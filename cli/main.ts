// The mirl command line. Each command lives in cli/commands; this file wires them and
// turns every failure into one line on stderr and an exit code (stack only with --verbose).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
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
import { compareCommand } from './commands/compare.js';
import { reportCommand } from './commands/report.js';
import { applyStackEnvironment } from './stack/env.js';
import { describeFailure, EXIT } from './errors.js';

const argv = hideBin(process.argv);
const verbose = argv.includes('--verbose');
// Commands that talk to the servers find a local stack's ports in its state file.
const command = argv.find((a) => !a.startsWith('-'));
if (command === 'sweep' || command === 'compare' || command === 'report') applyStackEnvironment();

const cli = yargs(argv)
  .scriptName('mirl')
  .usage('$0 <command> [options]\n\nSweeps of mutual-information representation-learning studies.')
  .command('trial', 'Run single trials locally', (y) =>
    y.command(trialRunCommand).demandCommand(1, 'name a trial command').recommendCommands(),
  )
  .command('sweep', 'Validate and run sweeps', (y) =>
    y
      .command(sweepValidateCommand)
      .command(sweepLaunchCommand)
      .command(sweepStatusCommand)
      .command(sweepReconcileCommand)
      .command(sweepWatchCommand)
      .command(sweepListCommand)
      .command(sweepPauseCommand)
      .command(sweepResumeCommand)
      .command(sweepCancelCommand)
      .command(sweepSetConcurrencyCommand)
      .command(sweepRerunFailedCommand)
      .command(sweepExtendCommand)
      .demandCommand(1, 'name a sweep command')
      // A mistyped command gets "Did you mean ...?" (yargs compares it with the known ones).
      .recommendCommands(),
  )
  .command(upCommand)
  .command(downCommand)
  .command(compareCommand)
  .command(reportCommand)
  .command(workerCommand)
  .command(linearEvalCommand)
  .command(benchCommand)
  .option('verbose', { type: 'boolean', default: false, describe: 'print stack traces on errors' })
  .demandCommand(1, 'name a command (see --help)')
  .recommendCommands()
  .strict()
  .completion('completion', 'print a shell completion script')
  .help()
  .alias('h', 'help')
  .wrap(Math.min(100, process.stdout.columns ?? 100))
  .fail((msg, err) => {
    if (err) throw err;
    process.stderr.write(`mirl: ${msg}\n(see mirl --help)\n`);
    process.exit(EXIT.usage);
  });

try {
  await cli.parseAsync();
} catch (err) {
  const { message, code } = describeFailure(err);
  process.stderr.write(`mirl: ${message}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  process.exitCode = code;
}

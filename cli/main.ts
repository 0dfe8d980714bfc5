// The mirl command line. Each command lives in cli/commands and the tree in cli/program.ts;
// this file runs it and turns every failure into one line on stderr and an exit code
// (stack only with --verbose).
import { hideBin } from 'yargs/helpers';
import { buildCli } from './program.js';
import { describeFailure, EXIT } from './errors.js';

const argv = hideBin(process.argv);
const verbose = argv.includes('--verbose');

const cli = buildCli(argv).fail((msg, err) => {
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

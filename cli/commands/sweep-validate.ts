import type { CommandModule } from 'yargs';
import { loadSpecFile } from '../../spec/load.js';
import { describeSpec, renderValidateText } from '../../spec/describe.js';
import { countTrials } from '../../spec/expand.js';
import { printJson } from '../output.js';

interface Args {
  spec: string;
  profile?: string;
  json: boolean;
}

export const sweepValidateCommand: CommandModule<object, Args> = {
  command: 'validate <spec>',
  describe: 'Check a sweep spec and show its trials without launching anything',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true })
      .option('profile', { type: 'string', describe: 'apply a profile of the spec' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 sweep validate sweeps/smoke.yaml', 'trial count and axes')
      .example('$0 sweep validate sweeps/smoke.yaml --profile quick --json', ''),
  handler: (args) => {
    const spec = loadSpecFile(args.spec);
    // Expanding checks every resolved trial, not just the spec's shape.
    countTrials(spec, args.profile ?? null);
    const d = describeSpec(spec, args.profile ?? null);
    if (args.json) printJson(d);
    else process.stdout.write(renderValidateText(d, args.spec) + '\n');
  },
};

import type { CommandModule } from 'yargs';
import { readSpecFile } from '../../sweep-spec/load.js';
import { checkWorkflowInputSize } from '../../sweep-spec/limits.js';
import { makeLaunchToken, makeSweepId } from '../../sweep-spec/trial-id.js';
import { describeSpec, renderValidateText } from '../../sweep-spec/describe.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';
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
    // Reading checks every resolved trial configuration; describing refuses an unknown profile.
    const { spec, text } = readSpecFile(args.spec);
    const d = describeSpec(spec, args.profile ?? null);
    // What launch would refuse as too big for Temporal, validate refuses too (the id is a
    // stand-in of the real one's length; launch options add a few bytes at most).
    const sweepId = makeSweepId(spec.name, makeLaunchToken(new Date(), '00000'));
    checkWorkflowInputSize(args.spec, {
      spec,
      sweepId,
      profile: args.profile ?? null,
      options: {},
      specText: text,
      dataPath: DATA_PATH_VERSION,
    });
    if (args.json) printJson(d);
    else process.stdout.write(renderValidateText(d, args.spec) + '\n');
  },
};

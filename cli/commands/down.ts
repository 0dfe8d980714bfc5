import type { CommandModule } from 'yargs';
import { printJson } from '../output.js';
import { stackHome } from '../stack/home.js';
import { stackDown } from '../stack/stack.js';
import { withHomeOption, type HomeArgs } from '../stack-option.js';

interface Args extends HomeArgs {
  json: boolean;
}

export const downCommand: CommandModule<object, Args> = {
  command: 'down',
  describe: 'Stop the processes `mirl up` started (data stays in the state directory)',
  builder: (y) => withHomeOption(y).option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const home = stackHome(args.home);
    const report = await stackDown({
      home,
      progress: args.json ? undefined : (line) => process.stderr.write(`[down] ${line}\n`),
    });
    if (args.json) return printJson(report);
    if (report.services.length === 0) return void process.stdout.write(`no stack running in ${home}\n`);
    for (const s of report.services) {
      const leftovers =
        s.leftovers > 0
          ? `leader gone, ${s.outcome === 'killed' ? 'killed' : 'stopped'} ${s.leftovers} leftover process${s.leftovers === 1 ? '' : 'es'} of its group`
          : null;
      const what =
        leftovers ??
        {
          stopped: 'stopped',
          killed: 'killed (did not stop in time)',
          'not running': 'was not running',
          'not ours': 'left alone: its pid now belongs to another program',
        }[s.outcome];
      process.stdout.write(`${s.name.padEnd(9)} ${what} (pid ${s.pid})\n`);
    }
    const up = args.home ? `mirl up --home ${home}` : 'mirl up';
    process.stdout.write(`stack down; data kept in ${home} (\`${up}\` brings it back)\n`);
  },
};

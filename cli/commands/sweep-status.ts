import type { CommandModule } from 'yargs';
import { connectClient } from '../temporal-connection.js';
import { printJson } from '../output.js';
import { readSweep } from './sweep-client.js';
import { renderStatus } from './sweep-render.js';

interface Args {
  id: string;
  json: boolean;
}

export const sweepStatusCommand: CommandModule<object, Args> = {
  command: 'status <id>',
  describe: 'Progress of a sweep: counts per state and per axis value, each trial\'s step and metrics',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true, describe: 'sweep id' }).option('json', { type: 'boolean', default: false }),
  handler: async (args) => {
    const client = await connectClient();
    const { status, progress } = await readSweep(client, args.id);
    if (args.json) printJson({ status, ...progress });
    else process.stdout.write(renderStatus(status, progress) + '\n');
  },
};

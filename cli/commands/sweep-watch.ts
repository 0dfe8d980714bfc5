import type { CommandModule } from 'yargs';
import { connectClient } from '../../servers/temporal-connection.js';
import { findSweep, readSweep } from '../../client/sweeps.js';
import { changeLines, exitCodeFor, finalLine, renderFrame, type WatchView } from '../watch/view.js';
import { FrameWriter } from '../watch/terminal.js';
import { trialSteps } from '../watch/trial-steps.js';
import { UsageError } from '../errors.js';

interface Args {
  id: string;
  interval?: number;
  plain: boolean;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
/** Running trials a look lists; a terminal shows far fewer. */
const WATCH_RUNNING = 200;

export const sweepWatchCommand: CommandModule<object, Args> = {
  command: 'watch <id>',
  describe: 'Follow a sweep live until it ends (exit 0 when every trial is done, 1 otherwise)',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'sweep id' })
      .option('interval', { type: 'number', describe: 'seconds between looks (default 1 on a terminal, 2 otherwise)' })
      .option('plain', { type: 'boolean', default: false, describe: 'one line per change even on a terminal' }),
  handler: async (args) => {
    const tty = process.stdout.isTTY === true && !args.plain;
    const interval = args.interval ?? (tty ? 1 : 2);
    if (!(interval > 0)) throw new UsageError(`--interval must be a positive number of seconds, got ${args.interval}`);
    const client = await connectClient();
    const { handle } = await findSweep(client, args.id);
    const started = (await handle.describe()).startTime.getTime();
    const stepsOf = await trialSteps(client, args.id);
    const frames = new FrameWriter(process.stdout);
    let prev: WatchView | undefined;
    if (tty) {
      frames.hideCursor();
      // A ^C must not leave the terminal without its cursor.
      process.once('SIGINT', () => {
        frames.showCursor();
        process.exit(130);
      });
    }
    try {
      for (;;) {
        // The running trials and the newest outcomes: what changes between looks, whatever the sweep's size.
        const { status, progress } = await readSweep(client, args.id, true, {
          states: ['running'],
          limit: WATCH_RUNNING,
        });
        const steps = Object.fromEntries(
          progress.trials.flatMap((t) => (stepsOf(t.index) !== undefined ? [[t.index, stepsOf(t.index)!]] : [])),
        );
        const view: WatchView = { status, progress, now: Date.now(), startedAt: started, steps };
        if (tty) frames.draw(renderFrame(view, process.stdout.columns || 100));
        else for (const line of changeLines(prev, view)) process.stdout.write(`${clock(view.now)} ${line}\n`);
        prev = view;
        if (status !== 'RUNNING') {
          process.stdout.write(finalLine(view) + '\n');
          process.exitCode = exitCodeFor(status, progress);
          return;
        }
        await new Promise((r) => setTimeout(r, interval * 1000));
      }
    } finally {
      if (tty) frames.showCursor();
    }
  },
};

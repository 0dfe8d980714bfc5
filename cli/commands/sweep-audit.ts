import type { CommandModule } from 'yargs';
import { connectClient } from '../../servers/temporal-connection.js';
import { printJson } from '../output.js';
import { EXIT } from '../errors.js';
import { cliMlflowClient, withMlflow } from '../mlflow-connection.js';
import { readSweepAudit } from '../../client/sweep-audit.js';
import { renderAudit } from '../../results/audit.js';

interface Args {
  id: string;
  json: boolean;
  concurrency: number;
}

export const sweepAuditCommand: CommandModule<object, Args> = {
  command: 'audit <id>',
  describe:
    'Check every trial of a sweep against MLflow: one run per trial id, done trials FINISHED, no metric step logged twice (exit 1 if not)',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'sweep id' })
      .option('concurrency', { type: 'number', default: 8, describe: 'metric histories read at once' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 sweep audit scale-20261204-120000-ab12', ''),
  handler: async (args) => {
    const temporal = await connectClient();
    const mlflow = cliMlflowClient();
    const t0 = performance.now();
    const report = await withMlflow(mlflow, () =>
      readSweepAudit(temporal, mlflow, args.id, {
        concurrency: args.concurrency,
        // Reading 20,000 runs' histories takes minutes: say how far it got.
        onProgress: (read, of) => {
          if (read % 1000 === 0 && process.stderr.isTTY) process.stderr.write(`audit: ${read}/${of} runs read\n`);
        },
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    if (!report.ok) process.exitCode = EXIT.failed;
    if (args.json) return printJson({ sweepId: args.id, seconds, ...report });
    process.stdout.write(renderAudit(args.id, report));
  },
};

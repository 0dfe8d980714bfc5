import path from 'node:path';
import type { CommandModule } from 'yargs';
import { printJson } from '../output.js';
import { cliMlflowClient, withMlflow } from '../mlflow-connection.js';

interface Args {
  id: string;
  out: string;
  upload: boolean;
  json: boolean;
}

export const reportCommand: CommandModule<object, Args> = {
  command: 'report <id>',
  describe: "Draw a sweep's figures from MLflow (SVG, PNG, one HTML page) and log them on its parent run",
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'sweep id' })
      .option('out', {
        type: 'string',
        demandOption: true,
        describe: 'folder for <figure>.svg/.png/.vl.json, index.html and report.json',
      })
      .option('upload', {
        type: 'boolean',
        default: true,
        describe: "also log the files on the sweep's parent run under report/ (--no-upload: only the folder)",
      })
      .option('json', { type: 'boolean', default: false })
      .example('$0 report smoke-20261129-031955-ab12 --out reports/smoke', ''),
  handler: async (args) => {
    // Loaded here, not at the top: Vega and resvg would slow every other command's start.
    const { generateReport } = await import('../../report/index.js');
    const client = cliMlflowClient();
    const outDir = path.resolve(args.out);
    const result = await withMlflow(client, () => generateReport(client, args.id, { outDir, upload: args.upload }));
    const { report } = result;
    const artifactsUrl =
      result.artifacts.length && result.parentRunId
        ? `${client.trackingUri}/#/experiments/${report.experiment.id}/runs/${result.parentRunId}/artifacts`
        : null;
    if (args.json) {
      return printJson({
        sweepId: report.sweepId,
        study: report.study,
        outDir,
        figures: report.figures.map((f) => f.name),
        skipped: report.skipped,
        trialStates: report.trialStates,
        expected: report.expected,
        files: result.written,
        artifacts: result.artifacts,
        artifactsUrl,
        verdicts: report.verdicts,
        notes: report.notes,
      });
    }
    const states = Object.entries(report.trialStates)
      .map(([s, n]) => `${n} ${s.toLowerCase()}`)
      .join(', ');
    const lines = [
      `sweep ${report.sweepId} (study ${report.study}): ${report.figures.length} figures; trials: ${states || 'none'}${report.expected === null ? '' : ` of ${report.expected}`}`,
      ...report.figures.map((f) => `  ${path.join(outDir, f.name)}.{svg,png}  ${f.title}`),
      ...report.skipped.map((s) => `  (no ${s.name}: ${s.reason})`),
      ...(report.verdicts?.protocols ?? []).map(
        (p) =>
          `  claim (${report.study}), ${p.protocol ? `${p.protocol} linear evaluation` : p.metrics.join(', ')}: ${p.verdict} (${p.counts.shown} of ${p.comparisons.length} comparisons shown; report.json has each test)`,
      ),
      ...report.notes.map((n) => `  note: ${n}`),
      `  ${path.join(outDir, 'index.html')}`,
      artifactsUrl
        ? `logged on the sweep's MLflow run under report/: ${artifactsUrl}`
        : args.upload
          ? 'not logged to MLflow: the sweep has no parent run'
          : '',
    ].filter(Boolean);
    process.stdout.write(lines.join('\n') + '\n');
  },
};

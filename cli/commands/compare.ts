import type { CommandModule } from 'yargs';
import { printJson } from '../output.js';
import { UsageError } from '../errors.js';
import { cliMlflowClient, withMlflow } from '../mlflow-connection.js';
import { runsViewUrl, type MlflowClient } from '../../tracking/index.js';
import { aggregate, DEFAULT_METRICS, type Comparison } from '../../results/aggregate.js';
import { claimFor, claimHistoryMetrics } from '../../results/claims.js';
import { TAGS } from '../../results/mlflow-contract.js';
import { readSweepRuns, type SweepRuns } from '../../results/sweep-runs.js';
import { readTrialHistories } from '../../results/trial-histories.js';
import { evaluateClaim, type StudyVerdicts } from '../../results/verdicts.js';
import { renderCsv, renderTable, renderVerdicts } from '../../results/render.js';
import { renderInsight, sweepInsight } from '../../results/importance.js';

interface Args {
  id: string;
  json: boolean;
  csv: boolean;
  metric?: string[];
  sort: 'axes' | 'metric';
  fresh: boolean;
  'include-pruned': boolean;
}

export const compareCommand: CommandModule<object, Args> = {
  command: 'compare <id>',
  describe:
    "Compare a sweep's configurations from MLflow: mean ± sd (se, n) over seeds of the final metrics, and the study's claim tested",
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'sweep id' })
      .option('metric', {
        type: 'string',
        array: true,
        describe: `metrics to compare (default: ${DEFAULT_METRICS.join(', ')})`,
      })
      .option('sort', {
        choices: ['axes', 'metric'] as const,
        default: 'axes' as const,
        describe: "rows in the spec's axis order, or by the first metric, best first",
      })
      .option('include-pruned', {
        type: 'boolean',
        default: false,
        describe:
          'count trials stopped early by early_stop in the means (their last values); by default they are listed, not averaged',
      })
      .option('fresh', {
        type: 'boolean',
        default: false,
        describe: 'search every trial run even when the closed sweep has a snapshot of them',
      })
      .option('json', { type: 'boolean', default: false })
      .option('csv', { type: 'boolean', default: false })
      .example('$0 compare smoke-20261129-031955-ab12', '')
      .example('$0 compare ID --metric i_est_test --sort metric --csv', ''),
  handler: async (args) => {
    if (args.json && args.csv) throw new UsageError('--json and --csv are alternatives: pick one');
    const metrics = (args.metric ?? [])
      .flatMap((m) => m.split(','))
      .map((m) => m.trim())
      .filter(Boolean);
    if (args.metric && metrics.length === 0)
      throw new UsageError('--metric needs a metric name, e.g. --metric linear_eval_accuracy');
    const client = cliMlflowClient();
    const runs = await withMlflow(client, () => readSweepRuns(client, args.id, { fresh: args.fresh }));
    const comparison = aggregate(runs.trials, { metrics, sort: args.sort, includePruned: args['include-pruned'] });
    if (args.csv) return void process.stdout.write(renderCsv(comparison));
    const verdicts = await withMlflow(client, () => claimVerdicts(client, runs, args.id));
    const insight = sweepInsight(runs.trials, comparison);
    if (args.json) {
      return printJson({
        sweepId: args.id,
        experiment: runs.experiment,
        trackingUri: client.trackingUri,
        runsUrl: runsViewUrl(client.trackingUri, runs.experiment.id, args.id),
        sweepStatus: runs.parent?.info.status ?? null,
        source: runs.source,
        ...comparison,
        importance: insight?.importance ?? null,
        best: insight?.best ?? null,
        verdicts,
      });
    }
    const total = comparison.rows.reduce((a, r) => a + r.trials, 0);
    const status = runs.parent ? `, sweep run ${runs.parent.info.status.toLowerCase()}` : '';
    const source =
      runs.source === 'snapshot'
        ? ' (read from the snapshot taken when the sweep closed; --fresh searches every run)'
        : '';
    process.stdout.write(
      `sweep ${args.id}: ${total} trial runs in ${comparison.rows.length} configurations (MLflow experiment '${runs.experiment.name}'${status})\n` +
        (comparison.rows.length ? renderTable(comparison) + '\n' : '') +
        `final values per trial; mean ± sample sd (standard error sd/√n, n seeds) over finished trials${pruningNote(comparison, args['include-pruned'])}${source}\n` +
        (insight && renderInsight(insight) ? renderInsight(insight) + '\n' : '') +
        (verdicts ? renderVerdicts(verdicts) + '\n' : '') +
        `${runsViewUrl(client.trackingUri, runs.experiment.id, args.id)}\n`,
    );
  },
};

/** The sweep's study claim tested on its trials; null for a study without one (smoke, a user's own). */
async function claimVerdicts(client: MlflowClient, runs: SweepRuns, sweepId: string): Promise<StudyVerdicts | null> {
  const study = runs.parent?.data.tags[TAGS.study] ?? null;
  if (!claimFor(study)) return null;
  const logged = new Set(runs.trials.flatMap((t) => Object.keys(t.metrics)));
  const wanted = claimHistoryMetrics(study, logged);
  const trials = wanted.length ? await readTrialHistories(client, runs.experiment.id, sweepId, wanted) : runs.trials;
  return evaluateClaim(study, trials);
}

function pruningNote(c: Comparison, included: boolean): string {
  if (!c.rows.some((r) => r.pruned > 0)) return '';
  return included
    ? ' and of pruned trials (their last values)'
    : ' (pruned trials are left out; --include-pruned counts their last values)';
}

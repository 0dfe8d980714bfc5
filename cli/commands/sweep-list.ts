import type { CommandModule } from 'yargs';
import { connectClient } from '../../servers/temporal-connection.js';
import { printJson } from '../output.js';
import { MIRL_STUDY } from '../../workflows/search-attributes.js';
import { SWEEP_WORKFLOW_TYPE } from '../../client/sweeps.js';

interface Args {
  json: boolean;
  limit: number;
}

export const sweepListCommand: CommandModule<object, Args> = {
  command: 'list',
  describe: 'Sweeps known to Temporal, newest first: one line per sweep, its latest workflow run',
  builder: (y) =>
    y.option('json', { type: 'boolean', default: false }).option('limit', { type: 'number', default: 50 }),
  handler: async (args) => {
    const client = await connectClient();
    const rows: { sweepId: string; status: string; study: string | null; started: string; closed: string | null }[] =
      [];
    // A sweep is a chain of runs (continue-as-new every few hundred starts, a new run per
    // rerun-failed); Temporal lists each. The runs that continued as new are left out by
    // the query, and of what remains the newest run of each sweep is kept.
    const seen = new Set<string>();
    const query = `WorkflowType = '${SWEEP_WORKFLOW_TYPE}' AND ExecutionStatus != 'ContinuedAsNew'`;
    for await (const w of client.workflow.list({ query })) {
      if (seen.has(w.workflowId)) continue;
      seen.add(w.workflowId);
      rows.push({
        sweepId: w.workflowId,
        status: w.status.name,
        study: w.typedSearchAttributes.get(MIRL_STUDY) ?? null,
        started: w.startTime.toISOString(),
        closed: w.closeTime?.toISOString() ?? null,
      });
      if (rows.length >= args.limit) break;
    }
    if (args.json) return printJson(rows);
    if (rows.length === 0) return void process.stdout.write('no sweeps\n');
    for (const r of rows)
      process.stdout.write(`${r.sweepId}  ${r.status.toLowerCase().padEnd(16)} ${r.study ?? ''}  ${r.started}\n`);
  },
};

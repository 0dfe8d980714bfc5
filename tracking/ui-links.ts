// Links into MLflow's UI that open where a researcher looks: the runs table of an
// experiment (MLflow 3 otherwise lands on its overview), filtered to one sweep.

/** The experiment's runs view, optionally filtered to one sweep's runs. */
export function runsViewUrl(trackingUri: string, experimentId: string, sweepId?: string): string {
  const base = `${trackingUri.replace(/\/+$/, '')}/#/experiments/${encodeURIComponent(experimentId)}/runs`;
  if (!sweepId) return base;
  return `${base}?searchFilter=${encodeURIComponent(`tags.\`mirl.sweep_id\` = '${sweepId.replace(/'/g, "\\'")}'`)}`;
}

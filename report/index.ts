// `mirl report` and the sweep's closing activity share this one entry point: read the
// sweep from MLflow, aggregate, draw, write to a folder and/or log on the parent run.
import type { MlflowClient } from '../tracking/index.js';
import { buildReport, type Report } from './build.js';
import { renderReportFiles, uploadReportFiles, writeReportFiles } from './files.js';
import { readSweepData, type ReadSweepOptions } from './sweep-data.js';

export {
  aggregateCurves,
  curveOf,
  configLabel,
  MISSING,
  type ReportTrial,
  type CurveSet,
  type CurvePoint,
} from './aggregate.js';
export { CATALOGUE, figuresFor, type Figure } from './catalogue.js';
export { buildReport, reportMetrics, type Report, type SweepData } from './build.js';
export { renderReportFiles, REPORT_ARTIFACT_DIR, type ReportFile } from './files.js';
export { readSweepData } from './sweep-data.js';

export interface GenerateReportOptions extends ReadSweepOptions {
  /** Folder for the files; none: nothing written locally. */
  outDir?: string;
  /** Log the files on the sweep's parent run (when it has one). */
  upload?: boolean;
  now?: Date;
}

export interface GeneratedReport {
  report: Report;
  /** Local paths written. */
  written: string[];
  /** Artifact paths logged on the parent run. */
  artifacts: string[];
  parentRunId: string | null;
}

export async function generateReport(
  client: MlflowClient,
  sweepId: string,
  options: GenerateReportOptions = {},
): Promise<GeneratedReport> {
  const data = await readSweepData(client, sweepId, options);
  const built = buildReport(data, options.now ?? new Date());
  const files = await renderReportFiles(built);
  const written = options.outDir ? await writeReportFiles(options.outDir, files) : [];
  const parent = data.parentRun;
  let artifacts: string[] = [];
  if (options.upload && parent) {
    options.signal?.throwIfAborted();
    artifacts = await uploadReportFiles(client, parent, files);
  }
  return { report: built.report, written, artifacts, parentRunId: parent?.runId ?? null };
}

// The report's files: per figure an SVG, a PNG and its Vega-Lite spec; index.html and
// report.json for the sweep. Written to a folder and logged on the sweep's parent run
// under report/, so MLflow's artifact view shows the same figures.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactRunRef, MlflowClient } from '../tracking/index.js';
import type { BuiltReport } from './build.js';
import { renderHtml } from './html.js';
import { renderSvg, svgToPng } from './render.js';

export const REPORT_ARTIFACT_DIR = 'report';

export interface ReportFile {
  /** Relative to the report's folder. */
  path: string;
  data: string | Buffer;
}

export async function renderReportFiles(built: BuiltReport): Promise<ReportFile[]> {
  const files: ReportFile[] = [];
  const svgs = new Map<string, string>();
  for (const { name, spec } of built.specs) {
    const svg = await renderSvg(spec);
    svgs.set(name, svg);
    files.push(
      { path: `${name}.svg`, data: svg },
      { path: `${name}.png`, data: svgToPng(svg) },
      { path: `${name}.vl.json`, data: JSON.stringify(spec, null, 2) + '\n' },
    );
  }
  files.push({ path: 'index.html', data: renderHtml(built.report, svgs) });
  files.push({ path: 'report.json', data: JSON.stringify(built.report, null, 2) + '\n' });
  return files;
}

export async function writeReportFiles(dir: string, files: ReportFile[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const f of files) {
    const target = path.join(dir, f.path);
    await writeFile(target, f.data);
    written.push(target);
  }
  return written;
}

export async function uploadReportFiles(
  client: MlflowClient,
  run: ArtifactRunRef,
  files: ReportFile[],
): Promise<string[]> {
  const uploaded: string[] = [];
  for (const f of files) {
    const artifact = `${REPORT_ARTIFACT_DIR}/${f.path}`;
    await client.uploadArtifact(run, artifact, f.data);
    uploaded.push(artifact);
  }
  return uploaded;
}

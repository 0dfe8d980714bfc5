// The workflow bundle. Project sources import each other as `./x.js` (NodeNext) while
// the files are `.ts`; webpack needs extensionAlias to follow that convention.
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

type ConfigHook = NonNullable<BundleOptions['webpackConfigHook']>;

export const webpackConfigHook: ConfigHook = (config) => {
  config.resolve = { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } };
  return config;
};

export async function bundleWorkflows(): Promise<{ code: string }> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, webpackConfigHook, logger: quietLogger });
}

let bundleFile: Promise<string> | undefined;
/**
 * The workflow bundle as a file workers load (MIRL_WORKFLOW_BUNDLE), built once per
 * process; where MIRL_WORKFLOW_BUNDLE already names one (a test tier builds it once for
 * all its files, bench runs inherit it), that file. A build takes 7-10 s on 2 cores.
 */
export function workflowBundleFile(): Promise<string> {
  bundleFile ??= process.env.MIRL_WORKFLOW_BUNDLE
    ? Promise.resolve(process.env.MIRL_WORKFLOW_BUNDLE)
    : (async () => {
        const { code } = await bundleWorkflows();
        const dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-bundle-'));
        const file = path.join(dir, 'workflows.js');
        await writeFile(file, code);
        return file;
      })();
  return bundleFile;
}

// webpack's progress lines are noise on a worker's stderr; warnings and errors still show.
const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};

// The workflow bundle. Project sources import each other as `./x.js` (NodeNext) while
// the files are `.ts`; webpack needs extensionAlias to follow that convention.
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
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

// webpack's progress lines are noise on a worker's stderr; warnings and errors still show.
const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};

// Runs one test tier (a folder of test/) under node:test with what the whole tier shares:
// the workflow bundle built once, and for the integration tier one Temporal dev server and
// one MLflow server, each test file on a namespace of its own (test/support/temporal-server.ts)
// and experiments of its own. Prints the spec reporter's lines and, at the end, the
// slowest files (test/support/durations-reporter.mjs).
//
//   node --import tsx test/support/tier.ts TIER [FILE...]
//
// MIRL_TEST_CONCURRENCY: test files at once (default 1: TensorFlow.js training and the
// servers share two cores).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { workflowBundleFile } from '../../workers/bundle.js';
import { startMlflowServer, SHARED_MLFLOW_ENV, type MlflowServer } from './mlflow-server.js';
import { REPO_ROOT } from './processes.js';
import { SHARED_TEMPORAL_ENV, startTemporalServer, type TemporalServer } from './temporal-server.js';

/** What each tier shares; a tier not listed shares nothing. */
const SHARED: Record<string, { bundle: boolean; servers: boolean }> = {
  unit: { bundle: true, servers: false },
  integration: { bundle: true, servers: true },
  faults: { bundle: true, servers: false },
  hosts: { bundle: true, servers: false },
};

interface Services {
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

async function startServices(tier: string): Promise<Services> {
  const wants = SHARED[tier] ?? { bundle: false, servers: false };
  let temporal: TemporalServer | undefined;
  let mlflow: MlflowServer | undefined;
  const stop = async () => {
    await Promise.all([temporal?.stop(), mlflow?.stop()]);
  };
  const started = await Promise.allSettled([
    wants.bundle ? workflowBundleFile() : Promise.resolve(undefined),
    wants.servers ? startTemporalServer({ own: true }).then((t) => (temporal = t)) : null,
    wants.servers ? startMlflowServer({ own: true }).then((m) => (mlflow = m)) : null,
  ]);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  const bundle = (started[0] as PromiseFulfilledResult<string | undefined>).value;
  return {
    env: {
      ...(bundle ? { MIRL_WORKFLOW_BUNDLE: bundle } : {}),
      ...(temporal ? { [SHARED_TEMPORAL_ENV]: temporal.address } : {}),
      ...(mlflow ? { [SHARED_MLFLOW_ENV]: mlflow.uri } : {}),
    },
    stop,
  };
}

function tierFiles(tier: string): string[] {
  const dir = path.join('test', tier);
  return readdirSync(path.join(REPO_ROOT, dir))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join(dir, f));
}

function runNodeTest(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const concurrency = process.env.MIRL_TEST_CONCURRENCY ?? '1';
  const args = [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./test/support/durations-reporter.mjs',
    '--test-reporter-destination=stdout',
    ...files,
  ];
  // Tests start their own servers: a developer's MIRL_HOME must never point them (or the
  // workers and commands they spawn) at a stack of hers, nor clash with their addresses.
  const { MIRL_HOME: _theirs, ...inherited } = process.env;
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...inherited, ...env }, stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

async function main(): Promise<number> {
  const [tier, ...named] = process.argv.slice(2);
  if (!tier) {
    process.stderr.write('usage: node --import tsx test/support/tier.ts TIER [FILE...]\n');
    return 2;
  }
  const files = named.length > 0 ? named : tierFiles(tier);
  const t0 = performance.now();
  const services = await startServices(tier);
  process.stderr.write(
    `== ${tier}: ${files.length} test files; shared set-up ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  try {
    return await runNodeTest(files, services.env);
  } finally {
    await services.stop();
  }
}

process.exitCode = await main();

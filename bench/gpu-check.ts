// The prepared GPU check that scripts/gpu-check.sh runs, bundled, on a GPU machine without
// network: the webgpu backend's adapter, the backend agreement of every study model
// against WebAssembly, and `mirl bench --backends webgpu` on the three model families
// (with seed stacks of 8 against one seed).
// Prints one JSON object; exits 1 when a model disagrees, 3 when there is no GPU adapter.
import { parseArgs } from 'node:util';
import { initBackend } from '../ml/backend.js';
import { parseTrialConfig } from '../ml/config.js';
import { probeWebgpuAdapter } from '../ml/webgpu.js';
import { AGREEMENT_MODELS, agreementOf, type Agreement } from './agreement.js';
import { runBench } from './run.js';

const DEFAULT_CASES = ['mlp+bilinear', 'realnvp-shift+bilinear', 'convnet+bilinear'];

function options() {
  const { values } = parseArgs({
    options: {
      'allow-software': { type: 'boolean', default: false },
      cases: { type: 'string', default: DEFAULT_CASES.join(',') },
      // Which models' agreement to check (default all): the packaging test checks one,
      // since test/gpu-route/ml-backends.test.ts checks every model on lavapipe.
      models: { type: 'string', default: Object.keys(AGREEMENT_MODELS).join(',') },
      steps: { type: 'string', default: '200' },
      'slow-steps': { type: 'string', default: '8' },
      'jacobian-inputs': { type: 'string', default: '128' },
      'linear-eval-max-iter': { type: 'string' },
      // On a GPU a small model's step is all dispatch: where stacking seeds should pay most.
      'seed-stack': { type: 'string', default: '8' },
    },
  });
  const int = (flag: keyof typeof values) => {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be a whole number >= 0, got ${values[flag]}`);
    return n;
  };
  return {
    allowSoftware: values['allow-software'] === true,
    cases: String(values.cases).split(','),
    models: String(values.models).split(','),
    steps: int('steps'),
    slowSteps: int('slow-steps'),
    jacobianInputs: int('jacobian-inputs'),
    seedStack: int('seed-stack'),
    linearEvalMaxIter:
      values['linear-eval-max-iter'] === undefined
        ? parseTrialConfig({}).linear_eval_max_iter
        : int('linear-eval-max-iter'),
  };
}

async function main(): Promise<number> {
  const o = options();
  const log = (line: string) => process.stderr.write(line + '\n');
  const adapter = await probeWebgpuAdapter();
  if (typeof adapter === 'string' || (adapter.software && !o.allowSoftware)) {
    const why = typeof adapter === 'string' ? adapter : `only a software adapter (${adapter.description})`;
    process.stdout.write(JSON.stringify({ error: `no GPU adapter: ${why}` }) + '\n');
    return 3;
  }
  await initBackend('webgpu');
  log(`[gpu-check] adapter: ${JSON.stringify(adapter)}`);
  const agreement: Agreement[] = [];
  for (const model of o.models) {
    const [r] = await agreementOf(model, ['webgpu']);
    log(`[gpu-check] ${model}: ${r.agrees ? 'agrees' : 'DISAGREES'} (max relative error ${r.maxRelativeError})`);
    agreement.push(r);
  }
  const bench = await runBench({
    backends: ['webgpu'],
    cases: o.cases,
    steps: o.steps,
    warmup: 10,
    slowSteps: o.slowSteps,
    linearEvalMaxIter: o.linearEvalMaxIter,
    // No second, longer fit for reference: the check times the fit a trial runs.
    linearEvalReferenceMaxIter: o.linearEvalMaxIter,
    jacobianInputs: o.jacobianInputs,
    jacobianSvdCheck: 8,
    orchestrationTrials: 0,
    orchestrationConcurrency: 1,
    memorySteps: 0,
    seedStack: o.seedStack,
    log,
  });
  const agrees = agreement.every((r) => r.agrees);
  process.stdout.write(JSON.stringify({ adapter, agreement: { agrees, models: agreement }, bench }, null, 2) + '\n');
  return agrees ? 0 : 1;
}

process.exitCode = await main();

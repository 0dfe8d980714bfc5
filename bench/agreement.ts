// The backend-agreement check: every study model, a few seeded steps, on each backend
// against WebAssembly. Shared by the unit test (test/unit/ml-backends.test.ts, webgpu on
// lavapipe) and the prepared GPU check (scripts/gpu-check.sh, webgpu on a GPU).
import { runTrial, type MetricsReport } from '../ml/run-trial.js';
import type { BackendName } from '../ml/backend.js';
import type { TrialConfigInput } from '../ml/config.js';

/** Relative tolerance: float32 kernels differ in summation order, nothing else. */
export const AGREEMENT_TOLERANCE = 1e-3;

/** The reference every other backend is compared with: the one that loads everywhere Node runs. */
export const AGREEMENT_REFERENCE: BackendName = 'wasm';

/** One case per encoder, critic and procedure the studies train, shrunk to seconds. */
export const AGREEMENT_MODELS: Record<string, TrialConfigInput> = {
  'mlp+bilinear': { encoder: 'mlp', critic: 'bilinear' },
  'mlp+separable': { encoder: 'mlp', critic: 'separable' },
  'mlp+concat nwj': { encoder: 'mlp', critic: 'concat', critic_hidden: [32], estimator: 'nwj' },
  'mlp-shortcut noisy': { encoder: 'mlp-shortcut', critic: 'bilinear', noise: 0.05 },
  'convnet+bilinear': { encoder: 'convnet', critic: 'bilinear' },
  'realnvp shift': { encoder: 'realnvp', critic: 'bilinear', realnvp_layers: 2, realnvp_hidden: 32 },
  'realnvp affine': {
    encoder: 'realnvp',
    coupling: 'affine',
    critic: 'bilinear',
    realnvp_layers: 2,
    realnvp_hidden: 32,
  },
  'adversarial realnvp': {
    procedure: 'adversarial',
    encoder: 'realnvp',
    realnvp_layers: 2,
    realnvp_hidden: 16,
    adv_warmup_steps: 1,
    adv_rounds: 2,
    adv_classifier_steps: 2,
  },
};

/** Every training metric of every step (loss, I_EST; the adversarial losses), in order. */
export async function seededValues(backend: BackendName, cfg: TrialConfigInput): Promise<number[]> {
  const seen: MetricsReport[] = [];
  await runTrial(
    { batch_size: 16, steps: 3, log_interval: 1, evaluations: [], seed: 11, ...cfg },
    { backend, onTrainMetrics: (m) => void seen.push(m) },
  );
  return seen.flatMap((m) =>
    Object.keys(m.metrics)
      .sort()
      .map((k) => m.metrics[k]),
  );
}

export interface Agreement {
  model: string;
  backend: BackendName;
  values: number[];
  reference: number[];
  /** Largest |v - ref| / max(1, |ref|) over the values. */
  maxRelativeError: number;
  agrees: boolean;
}

export function compareValues(model: string, backend: BackendName, values: number[], reference: number[]): Agreement {
  let maxRelativeError = values.length === reference.length ? 0 : Infinity;
  values.forEach((v, i) => {
    const err = Math.abs(v - reference[i]) / Math.max(1, Math.abs(reference[i]));
    maxRelativeError = Math.max(maxRelativeError, Number.isNaN(err) ? Infinity : err);
  });
  return {
    model,
    backend,
    values,
    reference,
    maxRelativeError,
    agrees: reference.length > 0 && maxRelativeError <= AGREEMENT_TOLERANCE,
  };
}

/** One model on the reference and on each of `backends`. */
export async function agreementOf(model: string, backends: BackendName[]): Promise<Agreement[]> {
  const cfg = AGREEMENT_MODELS[model];
  if (!cfg) throw new Error(`no agreement model "${model}"; known: ${Object.keys(AGREEMENT_MODELS).join(', ')}`);
  const reference = await seededValues(AGREEMENT_REFERENCE, cfg);
  const out: Agreement[] = [];
  for (const backend of backends.filter((b) => b !== AGREEMENT_REFERENCE)) {
    out.push(compareValues(model, backend, await seededValues(backend, cfg), reference));
  }
  return out;
}

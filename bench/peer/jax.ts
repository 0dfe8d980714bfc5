// The JAX peer: which bench cases it can express, its virtual environment (installed on
// demand by setup-jax.sh, never by npm ci or npm test) and one timed run of jax_step.py.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BENCH_CASES } from '../cases.js';

const SETUP = fileURLToPath(new URL('./setup-jax.sh', import.meta.url));
export const JAX_STEP = fileURLToPath(new URL('./jax_step.py', import.meta.url));

/**
 * The cases jax_step.py builds (its CASES table; a unit test keeps the two in step), each
 * with how it matches mirl's. A bench case missing here is skipped with SKIP_REASONS' word.
 */
export const JAX_CASES: Record<string, string> = {
  'mlp+bilinear': 'MLP 392-300-300-100 per view, bilinear W 100x100, InfoNCE, Adam 1e-4, batch 128, float32',
  'mlp+separable': 'MLP encoders as mlp+bilinear, separable critic phi 100-100-100 per side',
  'mlp+concat':
    'MLP encoders, concat critic Dense(200 relu)-Dense(1) over 128x128 pairs, first layer split over x and y as mirl does',
  'mlp-shortcut+bilinear': 'five residual Dense 392 layers, noise 0.05 per view drawn on the host, bilinear 392x392',
  'realnvp-shift+bilinear':
    '30 shift couplings (MLP 196-512-512-196) with fixed permutations per view, bilinear 392x392',
  'convnet+bilinear':
    'two 5x5 stride-2 same convs (64, 128), layer norm over (h, w, c), mean pool, Dense 100; |I_NCE - 4|',
  'gaussian+concat5x10': 'identity encoders on 2-d Gaussian pairs drawn on the host, concat critic 5 x 10 hidden',
};

export const SKIP_REASONS: Record<string, string> = {
  'adversarial-realnvp-affine':
    'a different procedure (a classifier trained on labels with its own Adam, 10 classifier steps per encoder step); jax_step.py ports the infomax step only',
};

/** Why the peer cannot run this case, or null when it can. */
export function peerSkipReason(name: string): string | null {
  if (JAX_CASES[name]) return null;
  return SKIP_REASONS[name] ?? (BENCH_CASES[name] ? 'not ported to jax_step.py' : 'unknown bench case');
}

export interface PeerMeasurement {
  case: string;
  ms_per_step_median: number;
  ms_per_step_min: number;
  steps: number;
  jax_version: string;
  devices: string[];
  initial_loss?: number;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The last stdout line of jax_step.py as a measurement, or why it is not one. */
export function parsePeerOutput(stdout: string, code: number | null, stderr = ''): PeerMeasurement | { error: string } {
  const line = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) {
    return { error: (stderr.trim().split('\n').pop() || `jax_step.py exited ${code} without a result`).slice(0, 300) };
  }
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { error: `jax_step.py printed malformed JSON: ${line.slice(0, 200)}` };
  }
  if (typeof v.case !== 'string' || !finite(v.ms_per_step_median) || !finite(v.ms_per_step_min) || !finite(v.steps)) {
    return { error: `jax_step.py result lacks case/ms_per_step_median/ms_per_step_min/steps: ${line.slice(0, 200)}` };
  }
  return {
    case: v.case,
    ms_per_step_median: v.ms_per_step_median,
    ms_per_step_min: v.ms_per_step_min,
    steps: v.steps,
    jax_version: typeof v.jax_version === 'string' ? v.jax_version : 'unknown',
    devices: Array.isArray(v.devices) ? v.devices.map(String) : [],
    ...(finite(v.initial_loss) ? { initial_loss: v.initial_loss } : {}),
  };
}

function run(
  cmd: string,
  args: string[],
  passStderr: (line: string) => void,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      for (const l of String(d).split('\n')) if (l.startsWith('[setup-jax]')) passStderr(l);
    });
    child.on('error', (e) => resolve({ code: -1, out, err: err + String(e) }));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** The peer venv's python, installing it first if this machine has none; throws on failure. */
export async function ensureJax(log: (line: string) => void): Promise<string> {
  const r = await run('bash', [SETUP], log);
  const python = r.out.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !python)
    throw new Error(`bench/peer/setup-jax.sh failed: ${r.err.trim().split('\n').pop() ?? r.code}`);
  return python;
}

export async function measureJax(
  python: string,
  name: string,
  steps: number,
  warmup: number,
  seed = 0,
): Promise<PeerMeasurement | { error: string }> {
  const r = await run(
    python,
    [JAX_STEP, '--case', name, '--steps', String(steps), '--warmup', String(warmup), '--seed', String(seed)],
    () => {},
  );
  return parsePeerOutput(r.out, r.code, r.err);
}

// The prepared GPU check (scripts/gpu-check.sh) as far as a machine without a GPU allows:
// the payload is built and fits a device run's 64 MiB; run from it, with no other file of
// the checkout, the check refuses a host without an NVIDIA Vulkan driver, and with
// MIRL_GPU_CHECK_SOFTWARE=1 runs on lavapipe: adapter, one model's agreement with
// WebAssembly (every model's is ml-backends.test.ts's, beside it), bench rows naming the adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function script(root: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync('bash', [path.join(root, 'scripts/gpu-check.sh'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20 * 60_000,
  });
}

interface CheckOutput {
  adapter: { software: boolean; description: string };
  agreement: { agrees: boolean; models: { model: string; backend: string; agrees: boolean }[] };
  bench: { rows: Record<string, unknown>[] };
}

test('gpu-check.sh packs a payload within 64 MiB and runs the whole check from it', async () => {
  const pack = script(ROOT, ['pack']);
  assert.equal(pack.status, 0, pack.stderr.slice(-2000));
  const payload = path.join(ROOT, '.gpu-check/payload.tar.xz');
  const { size } = await stat(payload);
  assert.ok(size <= 64 * 2 ** 20, `payload ${size} bytes`);

  // A GPU machine gets the script and the payload: nothing else of this checkout is used.
  const bare = await mkdtemp(path.join(os.tmpdir(), 'mirl-gpu-check-'));
  const out = path.join(bare, 'out');
  try {
    await mkdir(path.join(bare, 'scripts'));
    await mkdir(path.join(bare, '.gpu-check'));
    await copyFile(path.join(ROOT, 'scripts/gpu-check.sh'), path.join(bare, 'scripts/gpu-check.sh'));
    await copyFile(payload, path.join(bare, '.gpu-check/payload.tar.xz'));
    // This machine has no NVIDIA driver: without the software flag the check refuses.
    const refused = script(bare, ['run', out]);
    assert.equal(refused.status, 3, refused.stderr.slice(-2000));
    assert.match(refused.stderr, /no NVIDIA Vulkan driver found/);

    const run = script(bare, ['run', out], {
      MIRL_GPU_CHECK_SOFTWARE: '1',
      GPU_CHECK_ARGS:
        '--models mlp+bilinear --cases mlp+bilinear --steps 3 --slow-steps 1 --jacobian-inputs 2 --linear-eval-max-iter 2 --seed-stack 2',
    });
    assert.equal(run.status, 0, run.stderr.slice(-3000));
    const result = JSON.parse(await readFile(path.join(out, 'gpu-check.json'), 'utf8')) as CheckOutput;
    assert.equal(result.adapter.software, true);
    assert.equal(result.agreement.agrees, true);
    // One model proves the payload's path; every model's agreement on lavapipe is ml-backends'.
    assert.deepEqual(
      result.agreement.models.map((m) => [m.model, m.backend, m.agrees]),
      [['mlp+bilinear', 'webgpu', true]],
    );
    const measures = result.bench.rows.map((r) => r.measure);
    assert.deepEqual(measures, ['matmul_1024', 'train_step', 'seed_stack', 'linear_eval_60000x100', 'jacobian_392']);
    for (const row of result.bench.rows) {
      assert.equal(row.error, undefined, JSON.stringify(row));
      assert.equal(row.backend, 'webgpu');
      assert.match(String(row.adapter), /\(software\)$/);
    }
  } finally {
    await rm(bare, { recursive: true, force: true });
  }
});

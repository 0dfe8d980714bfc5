// `mirl trial run` with several indices trains those seeds as one stack, and refuses,
// before anything trains, indices that are not seeds of one stackable configuration.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const mirl = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/mirl.js', 'trial', 'run', ...args], { encoding: 'utf8', timeout: 300_000 });

test('trials that are not seeds of one configuration are refused with the reason, exit 2', () => {
  // The quick profile has one seed: indices 0 and 1 are the bilinear and the separable critic.
  const r = mirl('sweeps/smoke.yaml', '--profile', 'quick', '--index', '0', '1');
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /trials 0, 1 cannot train as one seed stack: the stacked trials differ in more than their seed/,
  );
  assert.doesNotMatch(r.stderr, /step \d+/, 'nothing trained');
});

test('two seeds as a stack end where each ends alone', () => {
  type Row = { runName: string; status: string; step: number; eval: Record<string, number> };
  const stacked = mirl('sweeps/smoke.yaml', '--index', '0', '1', '--json');
  assert.equal(stacked.status, 0, stacked.stderr);
  const rows = JSON.parse(stacked.stdout) as Row[];
  assert.deepEqual(
    rows.map((r) => [r.runName, r.status, r.step]),
    [
      ['bilinear|seed=0', 'finished', 200],
      ['bilinear|seed=1', 'finished', 200],
    ],
  );
  const alone = mirl('sweeps/smoke.yaml', '--index', '1', '--json');
  assert.equal(alone.status, 0, alone.stderr);
  const solo = JSON.parse(alone.stdout) as Row;
  // Training agrees to float rounding; a linear evaluation cut off at 100 L-BFGS iterations
  // can turn that into a few of the 2,000 test images classified the other way.
  const near = (k: string, tolerance: number) =>
    assert.ok(Math.abs(rows[1].eval[k] - solo.eval[k]) <= tolerance, `${k}: ${rows[1].eval[k]} vs ${solo.eval[k]}`);
  near('i_est_test', 1e-3);
  near('linear_eval_accuracy', 0.005);
  near('linear_eval_train_accuracy', 0.005);
});

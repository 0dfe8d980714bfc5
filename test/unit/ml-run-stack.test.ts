// A stack of trials run to their ends must give each member what runTrial gives it alone:
// the same metric steps, evaluations, checkpoints and result, values to float rounding,
// also for a member resumed from a checkpoint and one that is stopped half-way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../ml/backend.js';
import { parseTrialConfig, type TrialConfig } from '../../ml/config.js';
import { runTrial, type MetricsReport } from '../../ml/run-trial.js';
import { StackRun, type StackMember } from '../../ml/run-stack.js';

const STEPS = 30;
const TOLERANCE = 1e-4;
const cfgOf = (seed: number): TrialConfig =>
  parseTrialConfig({
    critic: 'bilinear',
    estimator: 'nwj',
    batch_size: 16,
    steps: STEPS,
    eval_interval: 10,
    log_interval: 5,
    evaluations: ['i_est_test'],
    i_est_test_batches: 2,
    seed,
  });

interface Seen {
  train: MetricsReport[];
  eval: MetricsReport[];
  checkpoints: number[];
}

function recorder(): { seen: Seen; callbacks: Pick<StackMember, 'onTrainMetrics' | 'onEvalMetrics' | 'onCheckpoint'> } {
  const seen: Seen = { train: [], eval: [], checkpoints: [] };
  return {
    seen,
    callbacks: {
      onTrainMetrics: (r) => void seen.train.push(r),
      onEvalMetrics: (r) => void seen.eval.push(r),
      onCheckpoint: (step) => void seen.checkpoints.push(step),
    },
  };
}

function assertSame(stacked: Seen, alone: Seen, label: string): void {
  assert.deepEqual(stacked.checkpoints, alone.checkpoints, `${label}: checkpoint steps`);
  for (const kind of ['train', 'eval'] as const) {
    assert.deepEqual(
      stacked[kind].map((r) => r.step),
      alone[kind].map((r) => r.step),
      `${label}: ${kind} steps`,
    );
    stacked[kind].forEach((r, i) => {
      const other = alone[kind][i].metrics;
      assert.deepEqual(Object.keys(r.metrics).sort(), Object.keys(other).sort(), `${label}: ${kind} names`);
      for (const [k, v] of Object.entries(r.metrics)) {
        const d = Math.abs(v - other[k]) / Math.max(1, Math.abs(other[k]));
        assert.ok(d < TOLERANCE, `${label}: ${kind} ${k} at step ${r.step}: ${v} vs ${other[k]}`);
      }
    });
  }
}

test('stacked members log, evaluate, checkpoint and end as they would alone', async () => {
  await initBackend('tensorflow');
  // Seed 1's trial ran 12 steps before (its checkpoint); seed 2 is asked to stop after step 15.
  let resumeFrom: Uint8Array | null = null;
  await runTrial(cfgOf(1), {
    checkpointEvery: 12,
    onCheckpoint: (step, bytes) => void (step === 12 && (resumeFrom = bytes)),
    shouldStop: () => resumeFrom !== null,
  });
  assert.ok(resumeFrom);
  let stepsOf2 = 0;
  const stopAfter15 = () => stepsOf2 >= 15;

  const recorders = [recorder(), recorder(), recorder()];
  const members: StackMember[] = [0, 1, 2].map((seed) => ({
    config: cfgOf(seed),
    resumeFrom: seed === 1 ? resumeFrom : null,
    checkpointEvery: 10,
    ...recorders[seed].callbacks,
    ...(seed === 2
      ? {
          onTrainMetrics: (r: MetricsReport) => void recorders[2].seen.train.push(r),
          shouldStop: () => stopAfter15(),
          onCheckpoint: (step: number) => void recorders[2].seen.checkpoints.push(step),
        }
      : {}),
  }));
  // Seed 2's step count, seen through its own train reports (every 5 steps).
  const plainTrain = members[2].onTrainMetrics!;
  members[2].onTrainMetrics = (r) => {
    stepsOf2 = r.step;
    return plainTrain(r);
  };
  const outcomes = await new StackRun(members, 'tensorflow').run();
  // Seed 0 fresh: evaluations at 0, 10, 20, 30, metrics every 5 steps, checkpoints every 10.
  assert.deepEqual(
    recorders[0].seen.eval.map((r) => r.step),
    [0, 10, 20, 30],
  );
  assert.equal(recorders[0].seen.train.length, 6);
  assert.deepEqual(recorders[0].seen.checkpoints, [10, 20, 30]);

  for (const seed of [0, 1, 2]) {
    const o = outcomes[seed];
    assert.ok(o.ok, `seed ${seed}: ${!o.ok && o.error.message}`);
    const alone = recorder();
    let stepsAlone = 0;
    const result = await runTrial(cfgOf(seed), {
      checkpointEvery: 10,
      resumeFrom: seed === 1 ? resumeFrom! : undefined,
      ...alone.callbacks,
      onTrainMetrics: (r) => {
        stepsAlone = r.step;
        alone.seen.train.push(r);
      },
      shouldStop: () => seed === 2 && stepsAlone >= 15,
    });
    assertSame(recorders[seed].seen, alone.seen, `seed ${seed}`);
    assert.equal(o.result.status, result.status, `seed ${seed}`);
    assert.equal(o.result.step, result.step, `seed ${seed}`);
    assert.equal(o.result.resumedFrom, result.resumedFrom, `seed ${seed}`);
  }
  assert.deepEqual(
    outcomes.map((o) => o.ok && [o.result.status, o.result.step, o.result.resumedFrom]),
    [
      ['finished', STEPS, null],
      ['finished', STEPS, 12],
      ['stopped', 15, null],
    ],
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, type TrialRun, type TrialStatus } from '../../results/aggregate.js';
import { betterDirection, bestConfiguration, parameterImportance, renderInsight } from '../../results/importance.js';

let index = 0;
function run(
  critic: string,
  estimator: string,
  seed: number,
  value: number,
  status: TrialStatus = 'FINISHED',
): TrialRun {
  return {
    trialId: `t${index}`,
    index: index++,
    axes: [
      ['critic', critic],
      ['estimator', estimator],
      ['seed', seed],
    ],
    status,
    metrics: { linear_eval_accuracy: value, loss: -value },
    startTime: 0,
  };
}

test('importance is the one-way ANOVA share per axis, most important first; unfinished trials do not count', () => {
  // Grand mean 4, total sum of squares 20; critic means 2 and 6 explain 16, estimator means 3 and 5 explain 4.
  const runs = [
    run('a', 'x', 0, 1),
    run('a', 'y', 0, 3),
    run('b', 'x', 0, 5),
    run('b', 'y', 0, 7),
    run('b', 'y', 1, 100, 'FAILED'),
  ];
  const imp = parameterImportance(runs, 'linear_eval_accuracy');
  assert.equal(imp.trials, 4);
  assert.deepEqual(
    imp.axes.map((a) => [a.axis, a.levels, Number(a.etaSquared!.toFixed(12))]),
    [
      ['critic', 2, 0.8],
      ['estimator', 2, 0.2],
    ],
  );
  assert.deepEqual(imp.axes[0].means, [
    { value: 'a', mean: 2, n: 2 },
    { value: 'b', mean: 6, n: 2 },
  ]);
  // No spread at all: nothing to explain.
  const flat = parameterImportance([run('a', 'x', 0, 1), run('b', 'x', 0, 1)], 'linear_eval_accuracy');
  assert.equal(flat.axes[0].etaSquared, null);
  // An axis with one value among the finished trials (a sweep under way) is not given a share.
  const oneLevel = parameterImportance([run('a', 'x', 0, 1), run('b', 'x', 0, 2)], 'linear_eval_accuracy');
  assert.deepEqual(
    oneLevel.axes.map((a) => [a.axis, a.etaSquared]),
    [
      ['critic', 1],
      ['estimator', null],
    ],
  );
  assert.match(
    renderInsight({ importance: oneLevel, best: null }),
    /critic 100%, estimator n\/a \(one value finished so far\)/,
  );
});

test('the best configuration comes with its Welch margin over the runner-up, and says whether seeds decide it', () => {
  const seeds = (critic: string, values: number[]) => values.map((v, s) => run(critic, 'nce', s, v));
  const clear = [...seeds('bilinear', [0.9, 0.91, 0.905]), ...seeds('concat', [0.85, 0.86, 0.855])];
  const best = bestConfiguration(aggregate(clear, { metrics: ['linear_eval_accuracy'] }), 'linear_eval_accuracy')!;
  assert.deepEqual(best.config, { critic: 'bilinear', estimator: 'nce' });
  assert.equal(best.runnerUp?.config.critic, 'concat');
  assert.ok(Math.abs(best.margin!.diff - 0.05) < 1e-12);
  assert.equal(best.decided, true);

  const close = [...seeds('bilinear', [0.9, 0.8, 0.85]), ...seeds('concat', [0.86, 0.82, 0.84])];
  const tie = bestConfiguration(aggregate(close, { metrics: ['linear_eval_accuracy'] }), 'linear_eval_accuracy')!;
  assert.equal(tie.config.critic, 'bilinear');
  assert.equal(tie.decided, false, 'an interval holding zero does not decide');

  // A loss is better low: the same runs, negated, pick the same configuration.
  assert.equal(betterDirection('loss'), 'lower');
  assert.equal(betterDirection('linear_eval_accuracy'), 'higher');
  const byLoss = bestConfiguration(aggregate(clear, { metrics: ['loss'] }), 'loss')!;
  assert.equal(byLoss.config.critic, 'bilinear');
  assert.equal(byLoss.decided, true);
  assert.equal(bestConfiguration(aggregate([], { metrics: ['loss'] }), 'loss'), null);
});

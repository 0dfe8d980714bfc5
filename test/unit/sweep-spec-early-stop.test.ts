// Early stopping: the ASHA and median rules against tables worked out by hand, the sweep's
// book of reports (idempotent on a resumed attempt, unchanged by a carry round trip), the
// evaluation schedule it is validated against, the activity's relay, and the one-line
// error for each kind of bad early_stop section.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parseTrialConfig } from '../../ml/config.js';
import { evaluationAtOrAfter, evaluationCount, isEvaluationStep, totalSteps } from '../../ml/metric-names.js';
import { formatSpecError, isSpecError, type SpecError } from '../../sweep-spec/errors.js';
import { parseSpec } from '../../sweep-spec/parse.js';
import { loadSpecFile } from '../../sweep-spec/load.js';
import { planSpec } from '../../sweep-spec/plan.js';
import {
  ashaDecide,
  medianDecide,
  percentile,
  rungsReached,
  type PlannedEarlyStop,
} from '../../sweep-spec/search/pruning.js';
import { EarlyStopBook } from '../../workflows/early-stop-state.js';
import { EvaluationRelay, temporalJudge, type EvaluationJudge } from '../../activities/evaluation-relay.js';
import type { EvaluationReport } from '../../workflows/types.js';

const ASHA: PlannedEarlyStop = {
  method: 'asha',
  metric: 'linear_eval_accuracy',
  mode: 'max',
  gracePeriod: 10,
  reductionFactor: 2,
  minTrials: 3,
};
const MEDIAN: PlannedEarlyStop = {
  method: 'median',
  metric: 'linear_eval_accuracy',
  mode: 'max',
  gracePeriod: 10,
  reductionFactor: 3,
  minTrials: 2,
};

describe('percentile', () => {
  it('interpolates between ranks as numpy.percentile does', () => {
    assert.equal(percentile([0.5], 50), 0.5);
    assert.equal(percentile([0.5, 0.3], 50), 0.4);
    // np.percentile([1, 2, 3], 200/3) = 2.3333...
    assert.ok(Math.abs(percentile([3, 1, 2], (1 - 1 / 3) * 100) - 7 / 3) < 1e-12);
    assert.equal(percentile([4, 1, 3, 2], 0), 1);
    assert.equal(percentile([4, 1, 3, 2], 100), 4);
  });
});

describe('ASHA (grace 10, reduction factor 2, max)', () => {
  it('keeps the best half at each rung, deciding each trial as it arrives', () => {
    assert.deepEqual(rungsReached(ASHA, 9), []);
    assert.deepEqual(rungsReached(ASHA, 45), [40, 20, 10]);
    const rungs = new Map<number, Map<number, number>>();
    // trial, step, value, stopped? (cutoff = median of the values recorded at the rung before it)
    const table: [number, number, number, boolean][] = [
      [0, 10, 0.5, false], // first at rung 10
      [1, 10, 0.3, true], // cutoff 0.5
      [2, 10, 0.7, false], // cutoff median(0.5, 0.3) = 0.4
      [3, 10, 0.4, true], // cutoff median(0.5, 0.3, 0.7) = 0.5
      [0, 20, 0.6, false], // first at rung 20
      [2, 20, 0.55, true], // cutoff 0.6
      [0, 30, 0.1, false], // no new rung between 20 and 40: nothing to judge
    ];
    for (const [trial, step, value, stopped] of table) {
      const d = ashaDecide(ASHA, rungs, trial, { step, value });
      assert.equal(d.stop, stopped, `trial ${trial} at step ${step}`);
    }
    assert.deepEqual(
      [...rungs.get(10)!],
      [
        [0, 0.5],
        [1, 0.3],
        [2, 0.7],
        [3, 0.4],
      ],
    );
    assert.deepEqual(
      [...rungs.get(20)!],
      [
        [0, 0.6],
        [2, 0.55],
      ],
    );
  });

  it('mirrors for a metric to minimise, and records a trial that skips rungs at its highest one only', () => {
    const rungs = new Map<number, Map<number, number>>();
    const min = { ...ASHA, mode: 'min' as const };
    assert.equal(ashaDecide(min, rungs, 0, { step: 10, value: 0.5 }).stop, false);
    assert.equal(ashaDecide(min, rungs, 1, { step: 10, value: 0.3 }).stop, false); // lower is better
    const d = ashaDecide(min, rungs, 2, { step: 10, value: 0.45 }); // cutoff median(0.5, 0.3) = 0.4
    assert.equal(d.stop, true);
    assert.match(
      d.stop ? d.reason : '',
      /0\.45 at step 10 is outside the best 1\/2 of rung 10 \(cutoff 0\.4, 2 trials before it\)/,
    );
    // Evaluated first at step 40: recorded at rung 40 alone (Ray Tune's rule), never at 10 or 20.
    ashaDecide(min, rungs, 3, { step: 40, value: 0.2 });
    assert.equal(rungs.get(20), undefined);
    assert.deepEqual([...rungs.get(40)!], [[3, 0.2]]);
  });
});

describe('median stopping rule (grace 10, min_trials 2, max)', () => {
  // Running means at step 10: A (0.1 + 0.5) / 2 = 0.3, B (0.1 + 0.3) / 2 = 0.2, median 0.25;
  // at step 20: A 1.3 / 3 = 0.4333, B 0.9 / 3 = 0.3, median 0.3667.
  const A = [
    { step: 0, value: 0.1 },
    { step: 10, value: 0.5 },
    { step: 20, value: 0.7 },
  ];
  const B = [
    { step: 0, value: 0.1 },
    { step: 10, value: 0.3 },
    { step: 20, value: 0.5 },
  ];

  it('stops a trial whose best so far is below the median of finished running means', () => {
    assert.equal(medianDecide(MEDIAN, [A, B], [], { step: 0, value: 0.0 }).stop, false); // before the grace period
    const c = medianDecide(MEDIAN, [A, B], [{ step: 0, value: 0.1 }], { step: 10, value: 0.2 });
    assert.equal(c.stop, true);
    assert.match(
      c.stop ? c.reason : '',
      /best linear_eval_accuracy 0\.2 by step 10 is worse than the median 0\.25 of 2 finished/,
    );
    assert.equal(medianDecide(MEDIAN, [A, B], [], { step: 10, value: 0.26 }).stop, false);
    assert.equal(medianDecide(MEDIAN, [A, B], [{ step: 10, value: 0.26 }], { step: 20, value: 0.3 }).stop, true);
    // Its best, not its latest: 0.4 earlier keeps it above 0.3667.
    assert.equal(medianDecide(MEDIAN, [A, B], [{ step: 10, value: 0.4 }], { step: 20, value: 0.3 }).stop, false);
  });

  it('waits for min_trials finished trials, and mirrors for min', () => {
    assert.equal(medianDecide(MEDIAN, [A], [], { step: 10, value: 0 }).stop, false);
    const min = { ...MEDIAN, mode: 'min' as const };
    assert.equal(medianDecide(min, [A, B], [], { step: 10, value: 0.2 }).stop, false);
    assert.equal(medianDecide(min, [A, B], [], { step: 10, value: 0.3 }).stop, true);
  });
});

describe('EarlyStopBook', () => {
  const report = (index: number, step: number, value: number, last = false): EvaluationReport => ({
    index,
    run: 1,
    step,
    value,
    last,
  });

  it('answers a resumed attempt as before and never stops a trial at its last step', () => {
    const book = new EarlyStopBook(ASHA);
    assert.equal(book.report(report(0, 10, 0.5)).stop, false);
    const first = book.report(report(1, 10, 0.3));
    assert.equal(first.stop, true);
    // The attempt died after the verdict; its retry reports again and hears the same.
    assert.deepEqual(book.report(report(1, 10, 0.3)), first);
    assert.deepEqual(book.report(report(1, 20, 0.9)), first);
    // A duplicate step of a running trial (resumed from an earlier checkpoint) changes nothing.
    assert.equal(book.report(report(0, 10, 0.1)).stop, false);
    assert.equal(book.report(report(2, 10, 0.1, true)).stop, false);
    assert.equal(book.reasonOf(2), undefined);
  });

  it('decides the same after a carry round trip (continue-as-new)', () => {
    const reports = [
      report(0, 0, 0.1),
      report(0, 10, 0.5),
      report(0, 20, 0.7),
      report(1, 0, 0.1),
      report(1, 10, 0.3),
      report(1, 20, 0.5),
    ];
    const straight = new EarlyStopBook(MEDIAN);
    for (const r of reports) straight.report(r);
    straight.settle({ index: 0, state: 'done' });
    straight.report(report(2, 0, 0.1));
    const carried = EarlyStopBook.fromCarry(MEDIAN, JSON.parse(JSON.stringify(straight.toCarry())));
    assert.equal(carried.report(report(2, 10, 0.2)).stop, false, 'one finished trial is fewer than min_trials');
    straight.settle({ index: 1, state: 'done' });
    const again = EarlyStopBook.fromCarry(MEDIAN, JSON.parse(JSON.stringify(straight.toCarry())));
    assert.deepEqual(again.report(report(2, 10, 0.2)), straight.report(report(2, 10, 0.2)));
    assert.equal(again.reasonOf(2)?.startsWith('median: '), true);
  });

  it('forgets the curve of a failed trial (its rerun reports afresh) and keeps finished ones for the median', () => {
    const book = new EarlyStopBook(MEDIAN);
    book.report(report(0, 10, 0.9));
    book.settle({ index: 0, state: 'failed' });
    assert.equal(book.report(report(0, 10, 0.2)).stop, false, 'reported again after the rerun');
    assert.deepEqual(book.toCarry().completed, {});
    book.settle({ index: 0, state: 'done' });
    assert.deepEqual(book.toCarry().completed, { '0': [[10, 0.2]] });
  });
});

describe('evaluation schedule', () => {
  it('agrees with counting every step, for both procedures', () => {
    const configs = [
      parseTrialConfig({ steps: 25, eval_interval: 10 }),
      parseTrialConfig({ steps: 30, eval_interval: 10 }),
      parseTrialConfig({
        procedure: 'adversarial',
        encoder: 'realnvp',
        adv_warmup_steps: 7,
        adv_rounds: 11,
        adv_eval_every_rounds: 4,
      }),
    ];
    for (const cfg of configs) {
      const steps = Array.from({ length: totalSteps(cfg) + 1 }, (_, s) => s).filter((s) => isEvaluationStep(cfg, s));
      assert.equal(evaluationCount(cfg), steps.length);
      for (let s = 0; s <= totalSteps(cfg) + 1; s++)
        assert.equal(evaluationAtOrAfter(cfg, s), steps.find((e) => e >= s) ?? null, `step ${s}`);
    }
  });
});

describe('EvaluationRelay', () => {
  const config = parseTrialConfig({ steps: 30, eval_interval: 10 });

  it('reports in step order, stops once, and reports nothing after the stop', async () => {
    const seen: EvaluationReport[] = [];
    const judge: EvaluationJudge = {
      async judge(_sweep, r) {
        seen.push(r);
        await new Promise((resolve) => setTimeout(resolve, 30 - r.step)); // later reports answer faster
        return r.step >= 20 ? { stop: true, reason: 'behind' } : { stop: false };
      },
    };
    const stops: [number, string][] = [];
    const relay = new EvaluationRelay(judge, 'sweep-1', 3, { metric: 'i_est_test', run: 2 }, config, (step, reason) =>
      stops.push([step, reason]),
    );
    for (const step of [0, 10, 20, 30]) relay.evaluated(step, { i_est_test: step / 10, loss: 1 });
    relay.evaluated(25, { loss: 1 }); // no metric: nothing to report
    await relay.drained();
    assert.deepEqual(
      seen.map((r) => [r.step, r.run, r.index, r.last]),
      [
        [0, 2, 3, false],
        [10, 2, 3, false],
        [20, 2, 3, false],
      ],
    );
    assert.deepEqual(stops, [[20, 'behind']]);
  });

  it('goes on training when the sweep cannot be asked', async () => {
    const warnings: string[] = [];
    const failing = temporalJudge(
      () => {
        throw new Error('unreachable');
      },
      { deadlineMs: 50, firstDelayMs: 10 },
      (l) => warnings.push(l),
    );
    const verdict = await failing.judge('sweep-1', { index: 0, run: 1, step: 10, value: 1, last: false });
    assert.deepEqual(verdict, { stop: false });
    assert.match(warnings.join('\n'), /no verdict for trial 0 at step 10 \(Error: unreachable\); it goes on/);
  });
});

describe('early_stop in a spec', () => {
  const HEAD = 'name: demo\nstudy: demo-study\ntrial: {steps: 3000, eval_interval: 500}\n';
  const ok = 'early_stop: {method: asha, metric: linear_eval_accuracy, mode: max, grace_period: 500}\n';

  function rejects(body: string, head: string): SpecError {
    try {
      parseSpec(head + body, 'sweeps/x.yaml');
    } catch (err) {
      assert.ok(isSpecError(err), String(err));
      return err;
    }
    assert.fail('expected the spec to be rejected');
  }
  const line = (body: string, path: string, head = HEAD) => {
    const text = formatSpecError(rejects(body, head));
    assert.equal(text.split('\n').length, 1, text);
    assert.ok(text.startsWith(`sweeps/x.yaml: ${path}: `), text);
    return text;
  };

  it('plans the rule with its defaults, and a profile amends it per field', () => {
    const spec = parseSpec(
      HEAD +
        ok +
        'profiles:\n  quick: {trial: {steps: 300, eval_interval: 50}, early_stop: {grace_period: 50, reduction_factor: 4}}\n',
      'x.yaml',
    );
    assert.deepEqual(planSpec(spec, null).earlyStop, {
      method: 'asha',
      metric: 'linear_eval_accuracy',
      mode: 'max',
      gracePeriod: 500,
      reductionFactor: 3,
      minTrials: 3,
    });
    assert.deepEqual(planSpec(spec, 'quick').earlyStop, {
      method: 'asha',
      metric: 'linear_eval_accuracy',
      mode: 'max',
      gracePeriod: 50,
      reductionFactor: 4,
      minTrials: 3,
    });
    assert.equal(planSpec(parseSpec(HEAD, 'x.yaml'), null).earlyStop, null);
  });

  it('refuses each kind of bad section in one line naming the field', () => {
    assert.match(
      line('early_stop: {method: hyperband, metric: loss, mode: min, grace_period: 5}\n', 'early_stop.method'),
      /median.*asha/,
    );
    assert.match(
      line('early_stop: {method: asha, metric: loss, mode: min, grace_period: 500}\n', 'early_stop.metric'),
      /"loss" is not reported by the evaluations of any trial.*allowed: i_est_test, linear_eval_accuracy/,
    );
    assert.match(
      line(
        'early_stop: {method: asha, metric: i_est_test, mode: max, grace_period: 3000}\n',
        'early_stop.grace_period',
      ),
      /no evaluation between step 3000 and the last step \(3000\).*eval_interval/,
    );
    assert.match(
      line(
        'early_stop: {method: median, metric: i_est_test, mode: max, grace_period: 500, reduction_factor: 3}\n',
        'early_stop.reduction_factor',
      ),
      /asha only/,
    );
    assert.match(
      line('early_stop: {method: asha, metric: i_est_test, mode: max}\n', 'early_stop.grace_period'),
      /required but missing/,
    );
    assert.match(
      line(
        'early_stop: {method: asha, metric: i_est_test, mode: max, grace_period: 500, grace: 2}\n',
        'early_stop.grace',
      ),
      /grace_period/,
    );
    assert.match(
      line('profiles:\n  quick: {early_stop: {grace_period: 10}}\n', 'profiles.quick.early_stop'),
      /missing method, metric, mode: .*allowed: median, asha/,
    );
    const many = 'name: demo\nstudy: demo-study\ntrial: {steps: 3000, eval_interval: 10}\nseeds: 100\n';
    assert.match(line(ok.replace('500}', '10}'), 'early_stop', many), /report 30100 evaluations in all.*at most 20000/);
  });
});

describe('sweeps/adversarial-search.yaml', () => {
  it("searches the encoder rate around the paper's 1e-5 and prunes with ASHA on accuracy, minimised; its quick profile is small", () => {
    const spec = loadSpecFile(fileURLToPath(new URL('../../sweeps/adversarial-search.yaml', import.meta.url)));
    const full = planSpec(spec, null);
    assert.equal(full.search?.method, 'tpe');
    const lr = full.search?.params.find((p) => p.key === 'adv_encoder_lr')?.dist;
    assert.ok(lr?.distribution === 'log_uniform' && lr.low < 1e-5 && lr.high > 1e-5, JSON.stringify(lr));
    assert.deepEqual(
      [full.earlyStop?.method, full.earlyStop?.metric, full.earlyStop?.mode],
      ['asha', 'linear_eval_accuracy', 'min'],
    );
    assert.deepEqual(full.objective, { metric: 'linear_eval_accuracy', mode: 'min', step: 'last' });
    const quick = planSpec(spec, 'quick');
    assert.equal(quick.trialCount, 6);
    assert.equal(quick.earlyStop?.gracePeriod, 120);
  });
});

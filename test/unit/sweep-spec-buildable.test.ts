// The critic x encoder x estimator x objective table (sweep-spec/buildable.ts) against
// the registries themselves: every combination is built through ml/critics.ts,
// ml/encoders.ts and ml/estimators.ts and differentiated once, as the optimizer's first
// step would, and exactly the combinations the table refuses must fail. Then validation
// refuses each of them before launch, naming the field and the values allowed.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../support/tf.js';
import { CRITICS, ENCODERS, ESTIMATORS, OBJECTIVES, trialConfigSchema, type TrialConfig } from '../../ml/config.js';
import { buildCritic } from '../../ml/critics.js';
import { buildEncoder, type Encoder } from '../../ml/encoders.js';
import { getEstimator, objectiveLoss } from '../../ml/estimators.js';
import { ParamStore } from '../../ml/params.js';
import { Rng } from '../../ml/rng.js';
import { VIEW_PIXELS } from '../../ml/data/mnist.js';
import {
  combinationRefusal,
  combinationTable,
  COMBINATION_KEYS,
  type Combination,
  type CombinationRow,
} from '../../sweep-spec/buildable.js';
import { isSpecError, type SpecError } from '../../sweep-spec/errors.js';
import { parseSpec } from '../../sweep-spec/parse.js';

before(async () => {
  await useTestBackend();
});

// Widths do not decide whether a combination builds: small ones keep 80 builds cheap.
const BASE = trialConfigSchema.parse({ realnvp_layers: 2, realnvp_hidden: 8, critic_hidden: [8] });
const K = 4;

/**
 * Builds an infomax trial's models for the combination as InfomaxTrial does (two views
 * of MNIST's size) and takes one gradient of its training loss over every weight, without
 * an update. The config skips the schema on purpose: the registries are under test.
 */
function buildAndDifferentiate(c: Combination): void {
  const cfg = { ...BASE, ...c, target: c.objective === 'target' ? 1 : null } as TrialConfig;
  const rng = new Rng(cfg.seed, 0);
  const store = new ParamStore(rng);
  const encoders: Encoder[] = [];
  try {
    const g1 = buildEncoder(cfg.encoder, store, 'g1', VIEW_PIXELS, cfg, rng);
    encoders.push(g1);
    const g2 = buildEncoder(cfg.encoder, store, 'g2', VIEW_PIXELS, cfg, rng);
    encoders.push(g2);
    const critic = buildCritic(cfg.critic, store, g1.outDim, g2.outDim, cfg);
    const estimator = getEstimator(cfg.estimator);
    const x = tf.randomUniform([K, VIEW_PIXELS], 0, 1, 'float32', 1) as tf.Tensor2D;
    const y = tf.randomUniform([K, VIEW_PIXELS], 0, 1, 'float32', 2) as tf.Tensor2D;
    try {
      const { value, grads } = tf.variableGrads(
        () => objectiveLoss(estimator(critic.scores(g1.apply(x), g2.apply(y))), cfg.objective, cfg.target),
        store.list(),
      );
      tf.dispose([value, ...Object.values(grads)]);
    } finally {
      tf.dispose([x, y]);
    }
  } finally {
    for (const e of encoders) e.dispose();
    store.dispose();
  }
}

describe('the combination table', () => {
  it('holds every combination of the registries, once each', () => {
    const rows = combinationTable();
    assert.equal(rows.length, CRITICS.length * ENCODERS.length * ESTIMATORS.length * OBJECTIVES.length);
    const keys = new Set(rows.map((r) => COMBINATION_KEYS.map((k) => r.combination[k]).join('/')));
    assert.equal(keys.size, rows.length);
  });

  it('refuses exactly the combinations the registries cannot build and train', () => {
    const refused: string[] = [];
    const failed: string[] = [];
    for (const { combination, refusals } of combinationTable()) {
      const name = COMBINATION_KEYS.map((k) => `${k}=${combination[k]}`).join(' ');
      if (refusals.length) refused.push(name);
      try {
        buildAndDifferentiate(combination);
      } catch (err) {
        failed.push(name);
        if (!refusals.length) assert.fail(`${name} is allowed but failed to build: ${String(err)}`);
      }
    }
    assert.deepEqual(failed, refused);
    // Today the one combination with nothing to train; the assertion above is what holds the table to the registries.
    assert.ok(refused.length > 0 && refused.every((n) => /critic=inner encoder=identity/.test(n)), refused.join('\n'));
  });
});

const HEAD = 'name: demo\nstudy: demo-study\n';

function rejects(source: string): SpecError {
  try {
    parseSpec(source, 'sweeps/x.yaml');
  } catch (err) {
    assert.ok(isSpecError(err), `expected a SpecError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the spec to be rejected');
}

describe('validation from the table', () => {
  it('refuses every refused row before launch, naming a field of the combination and what it may be', () => {
    for (const { combination, refusals } of combinationTable().filter((r) => r.refusals.length)) {
      const fields = COMBINATION_KEYS.map((k) => `${k}: ${combination[k]}`);
      if (combination.objective === 'target') fields.push('target: 1');
      const err = rejects(`${HEAD}trial: {${fields.join(', ')}}\n`);
      assert.equal(err.issues.length, 1, err.message);
      const [issue] = err.issues;
      const key = COMBINATION_KEYS.find((k) => issue.path === `trial.${k}`);
      assert.ok(key, `blamed ${issue.path}`);
      assert.ok(
        refusals.every((r) => issue.message.includes(r)),
        issue.message,
      );
      assert.ok(issue.allowed?.length, 'the values allowed instead');
      // Every value offered instead builds, with the other fields as written.
      for (const value of issue.allowed!) {
        const row: CombinationRow | undefined = combinationTable().find((r) =>
          COMBINATION_KEYS.every((k) => r.combination[k] === (k === key ? value : combination[k])),
        );
        assert.deepEqual(row?.refusals, [], `${key}=${value}`);
      }
    }
  });

  it('blames the varied setting and tells both ways out', () => {
    const err = rejects(`${HEAD}grid:\n  critic: [inner, bilinear, separable, concat]\n  encoder: [mlp, identity]\n`);
    assert.equal(err.issues.length, 1, err.message);
    const [issue] = err.issues;
    assert.equal(issue.path, 'grid.critic[0]');
    assert.deepEqual(issue.allowed, ['bilinear', 'separable', 'concat']);
    assert.match(issue.message, /^critic "inner" cannot be built with encoder "identity": /);
    assert.match(issue.message, /or keep critic "inner" and set encoder to mlp, mlp-shortcut, convnet or realnvp/);
    assert.match(issue.message, /fails in 1 of 8 configurations, e.g. critic=inner, encoder=identity$/);
  });

  it('offers only the values the rest of the configuration allows (the Gaussian study needs encoder identity)', () => {
    const err = rejects(
      `${HEAD}trial: {data: gaussian, encoder: identity, evaluations: [i_est_test]}\ngrid:\n  critic: [bilinear, inner]\n`,
    );
    const [issue] = err.issues;
    assert.equal(issue.path, 'grid.critic[1]');
    assert.deepEqual(issue.allowed, ['bilinear', 'separable', 'concat']);
    assert.doesNotMatch(issue.message, /set encoder/);
  });

  it('leaves other procedures, which build no critic, to their own rules', () => {
    assert.equal(combinationRefusal({ procedure: 'adversarial', encoder: 'identity', critic: 'inner' }), null);
    assert.notEqual(combinationRefusal({ encoder: 'identity', critic: 'inner' }), null);
    assert.equal(combinationRefusal({ encoder: 'mlp', critic: 'inner' }), null);
  });
});

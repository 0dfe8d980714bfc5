// The six study specs are the paper's runs by default and carry a quick profile: this
// pins that contract so a later edit cannot silently shrink a full-size study or drop
// the profile REPRODUCING.md tells people to run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSpecFile } from '../../sweep-spec/load.js';
import { expandSpec, seedList } from '../../sweep-spec/index.js';
import { parseTrialConfig } from '../../ml/config.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';

const STUDIES = [
  'invertible',
  'adversarial',
  'hard-to-invert',
  'critic-capacity',
  'encoder-architecture',
  'noniid',
] as const;
const pathOf = (study: string) => fileURLToPath(new URL(`../../sweeps/${study}.yaml`, import.meta.url));

describe('study specs', () => {
  for (const study of STUDIES) {
    describe(study, () => {
      const spec = loadSpecFile(pathOf(study));

      it('names its study after its file and points editors at the schema', () => {
        assert.equal(spec.study, study);
        assert.equal(
          readFileSync(pathOf(study), 'utf8').split('\n')[0],
          '# yaml-language-server: $schema=./schema.json',
        );
      });

      it("is the paper's size by default: 20 seeds and full linear evaluation", () => {
        const trials = expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: 'full' });
        assert.equal(seedList(spec.seeds).length, 20);
        for (const t of trials) {
          assert.equal(t.config.linear_eval_train_size, null);
          assert.equal(t.config.linear_eval_test_size, null);
          assert.equal(t.config.batch_size, 128);
          if (t.config.procedure === 'adversarial') {
            assert.deepEqual(
              [t.config.adv_warmup_steps, t.config.adv_rounds, t.config.adv_eval_every_rounds],
              [1_000, 4_000, 400],
            );
          } else {
            assert.equal(t.config.steps, t.config.data === 'gaussian' ? 20_000 : 21_000);
            assert.equal(t.config.eval_interval, 1_000);
          }
        }
      });

      it("gives every trial, in every profile, the trials' one linear-evaluation budget", () => {
        const budget = parseTrialConfig({}).linear_eval_max_iter;
        for (const profile of [null, ...Object.keys(spec.profiles)]) {
          for (const t of expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: 'budget', profile })) {
            assert.equal(t.config.linear_eval_max_iter, budget, `${profile ?? 'full'} ${t.runName}`);
          }
        }
      });

      it('has a quick profile that expands to fewer, shorter trials', () => {
        assert.ok(spec.profiles.quick, 'quick profile');
        const full = expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: 'full' });
        const quick = expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: 'quick', profile: 'quick' });
        assert.ok(quick.length > 0 && quick.length < full.length);
        // Steps are what a trial costs; an adversarial trial's are its warm-up and rounds.
        const stepsOf = (t: (typeof full)[number]) =>
          t.config.procedure === 'adversarial' ? t.config.adv_warmup_steps + t.config.adv_rounds : t.config.steps;
        const work = (ts: typeof full) => ts.reduce((sum, t) => sum + stepsOf(t), 0);
        assert.ok(work(quick) < work(full) / 10);
      });
    });
  }
});

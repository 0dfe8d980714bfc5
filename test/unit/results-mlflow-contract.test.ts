// The pure side of MLflow tracking: what mirl names and writes, the rule that skips
// steps a resumed attempt replays, and the checkpoint store's retention and fallbacks
// (against an in-memory artifact store; the real server is in the integration tests).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeCheckpoint } from '../../ml/checkpoint.js';
import {
  checkpointArtifactPath,
  checkpointStepOf,
  configParams,
  literal,
  oldestRun,
  StepFilter,
  sweepNameOf,
  sweepParams,
  sweepRunFilter,
  sweepSummary,
  trialRunFilter,
} from '../../results/mlflow-contract.js';
import { MlflowCheckpointStore } from '../../activities/mlflow-checkpoint-store.js';
import { trackingFor } from '../../workers/worker.js';
import { parseTrialConfig } from '../../ml/config.js';
import { parseSpec } from '../../sweep-spec/index.js';
import {
  MlflowApiError,
  runsViewUrl,
  silentLogger,
  type ArtifactRunRef,
  type FileInfo,
  type Run,
} from '../../tracking/index.js';
import { SweepBook } from '../../workflows/sweep-state.js';
import { buildProgress } from '../../workflows/progress.js';
import { trialSource } from '../../sweep-spec/index.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';

const run = (runId: string, startTime: number, metrics: { key: string; step: number }[] = []): Run => ({
  info: {
    runId,
    experimentId: '1',
    runName: runId,
    userId: '',
    status: 'RUNNING',
    startTime,
    artifactUri: '',
    lifecycleStage: 'active',
  },
  data: { metrics: metrics.map((m) => ({ ...m, value: 0, timestamp: 0 })), params: {}, tags: {} },
});

describe('params and filters', () => {
  it('encodes every resolved setting: text as is, numbers, null and lists as JSON', () => {
    const params = configParams(
      parseTrialConfig({ critic: 'concat', learning_rate: 0.0001, critic_hidden: [200, 100] }),
    );
    assert.equal(params.critic, 'concat');
    assert.equal(params.learning_rate, '0.0001');
    assert.equal(params.critic_hidden, '[200,100]');
    assert.equal(params.target, 'null');
    assert.equal(params.evaluations, '["i_est_test","linear_eval"]');
    assert.equal(Object.keys(params).length, Object.keys(parseTrialConfig({})).length);
  });

  it('sweep params are the fixed settings after the profile, plus the window', () => {
    const spec = parseSpec(
      [
        'name: s',
        'study: t',
        'trial: {steps: 200, evaluations: [i_est_test]}',
        'grid: {critic: [bilinear, inner]}',
        'max_concurrent_trials: 3',
        'profiles: {quick: {trial: {steps: 20}}}',
      ].join('\n'),
      's.yaml',
    );
    assert.deepEqual(sweepParams(spec, 'quick'), {
      steps: '20',
      evaluations: '["i_est_test"]',
      max_concurrent_trials: '3',
    });
    assert.equal(sweepParams(spec, null).steps, '200');
  });

  it('search filters quote ids and refuse quotes', () => {
    assert.equal(
      trialRunFilter('s-1', 'trial-ab'),
      "tags.`mirl.trial_id` = 'trial-ab' and tags.`mirl.sweep_id` = 's-1'",
    );
    assert.match(sweepRunFilter('s-1'), /tags.`mirl.role` = 'sweep'/);
    assert.throws(() => literal("a'b"), /quotes/);
  });

  it('names: sweep name from id, checkpoint paths, the oldest of racing runs', () => {
    assert.equal(sweepNameOf('critic-capacity-20261129-031955-ab12'), 'critic-capacity');
    assert.equal(sweepNameOf('odd'), 'odd');
    assert.equal(checkpointArtifactPath(100), 'checkpoints/step-0000000100.ckpt');
    assert.equal(checkpointStepOf('checkpoints/step-0000000100.ckpt'), 100);
    assert.equal(checkpointStepOf('checkpoints/notes.txt'), null);
    assert.equal(oldestRun([run('b', 5), run('c', 3), run('a', 3)])?.info.runId, 'a');
    assert.equal(oldestRun([]), undefined);
  });
});

describe('StepFilter', () => {
  it('skips, per key, every step up to the last one the server has', () => {
    const f = StepFilter.fromRun(
      run('r', 0, [
        { key: 'loss', step: 40 },
        { key: 'i_est_test', step: 30 },
      ]),
    );
    assert.equal(f.fresh(30, { i_est_test: 1, linear_eval_accuracy: 0.5 })?.i_est_test, undefined);
    assert.deepEqual(f.fresh(40, { loss: 1, i_est_train: 2 }), { i_est_train: 2 });
    assert.equal(f.fresh(40, { loss: 1 }), null);
    assert.deepEqual(f.fresh(41, { loss: 1 }), { loss: 1 });
    assert.equal(f.skipped, 3);
    assert.deepEqual(new StepFilter().fresh(0, { loss: 3 }), { loss: 3 });
  });
});

describe('sweep summary', () => {
  it('lists every trial with its state, run and final metrics', () => {
    const spec = parseSpec('name: s\nstudy: t\ngrid: {critic: [bilinear, inner]}\n', 's.yaml');
    const book = SweepBook.create(2, 2);
    book.markStarted(0, 0);
    book.markStarted(1, 0);
    book.applyOutcome(
      { index: 0, trialId: '', run: 1, state: 'done', result: { step: 4, train: { loss: 1 }, eval: {} } as never },
      1,
    );
    book.applyOutcome(
      { index: 1, trialId: '', run: 1, state: 'failed', error: 'NonFiniteError: loss became NaN at step 3' },
      1,
    );
    const source = trialSource(spec, { dataPath: DATA_PATH_VERSION, sweepId: 's-1' });
    const progress = buildProgress(book, source, {
      sweepId: 's-1',
      name: spec.name,
      study: spec.study,
      profile: null,
      taskQueue: 'mirl-cpu',
      heartbeatTimeoutMs: 60_000,
    });
    const summary = sweepSummary(progress, 'FINISHED', new Map([[source.at(1).trialId, 'run-b']]));
    assert.equal(summary.trials[0].trialId, source.at(0).trialId);
    assert.equal(summary.trials[0].runId, null, 'no MLflow run known for this trial');
    assert.deepEqual(summary.trials[0].metrics, { loss: 1 });
    assert.equal(summary.trials[1].state, 'failed');
    assert.equal(summary.trials[1].runId, 'run-b');
    assert.equal(summary.counts.failed, 1);
  });
});

function checkpointBytes(step: number): Uint8Array {
  return encodeCheckpoint({ step, arrays: [], state: { step } });
}

function memoryArtifacts(options: { deleteUnsupported?: boolean } = {}) {
  const files = new Map<string, Uint8Array>();
  const deletes: string[] = [];
  const client = {
    async uploadArtifact(_run: ArtifactRunRef, path: string, data: Uint8Array | string) {
      files.set(path, typeof data === 'string' ? Buffer.from(data) : data);
    },
    async downloadArtifact(_run: ArtifactRunRef, path: string) {
      return Buffer.from(files.get(path)!);
    },
    async listArtifacts(_run: ArtifactRunRef, dir = ''): Promise<FileInfo[]> {
      return [...files.keys()].filter((p) => p.startsWith(`${dir}/`)).map((path) => ({ path, isDir: false }));
    },
    async deleteArtifact(_run: ArtifactRunRef, path: string) {
      deletes.push(path);
      if (options.deleteUnsupported) {
        throw new MlflowApiError({
          errorCode: 'ENDPOINT_NOT_FOUND',
          httpStatus: 404,
          message: 'not found',
          endpoint: `DELETE /x/${path}`,
        });
      }
      files.delete(path);
    },
  };
  return { client, files, deletes };
}

const resolver = { runFor: () => ({ run: { runId: 'r1', experimentId: '1' } }) };

describe('MlflowCheckpointStore', () => {
  it('keeps the newest two checkpoints and resumes from the newest', async () => {
    const { client, files } = memoryArtifacts();
    const store = new MlflowCheckpointStore(client, resolver, silentLogger);
    assert.equal(await store.latest('k'), null);
    for (const step of [50, 100, 150, 200])
      assert.equal(await store.save('k', step, checkpointBytes(step)), `runs:/r1/${checkpointArtifactPath(step)}`);
    assert.deepEqual([...files.keys()].sort(), [checkpointArtifactPath(150), checkpointArtifactPath(200)]);
    const latest = await store.latest('k');
    assert.equal(latest?.step, 200);
    assert.deepEqual(Buffer.from(latest!.bytes), Buffer.from(checkpointBytes(200)));
  });

  it('passes over a torn checkpoint to an older intact one', async () => {
    const { client, files } = memoryArtifacts();
    const store = new MlflowCheckpointStore(client, resolver, silentLogger);
    await store.save('k', 100, checkpointBytes(100));
    files.set(checkpointArtifactPath(200), checkpointBytes(200).subarray(0, 20));
    assert.equal((await store.latest('k'))?.step, 100);
  });

  it('keeps every checkpoint, after one warning, when the server cannot delete artifacts', async () => {
    const { client, files, deletes } = memoryArtifacts({ deleteUnsupported: true });
    const warnings: string[] = [];
    const store = new MlflowCheckpointStore(client, resolver, { warn: (m) => warnings.push(m) });
    for (const step of [1, 2, 3, 4]) await store.save('k', step, checkpointBytes(step));
    assert.equal(files.size, 4);
    assert.equal(deletes.length, 1, 'no more deletes after the first refusal');
    assert.equal(warnings.length, 1);
  });
});

describe('worker tracking mode', () => {
  it('auto tracks only when MLFLOW_TRACKING_URI is set, and says so once when it is not', () => {
    const lines: string[] = [];
    assert.equal(
      trackingFor('auto', {}, {}, (l) => lines.push(l)),
      null,
    );
    assert.equal(lines.length, 1);
    assert.match(lines[0], /MLFLOW_TRACKING_URI is not set/);
    assert.equal(
      trackingFor('off', {}, { MLFLOW_TRACKING_URI: 'http://127.0.0.1:1' }, (l) => lines.push(l)),
      null,
    );
    const on = trackingFor('auto', {}, { MLFLOW_TRACKING_URI: 'http://127.0.0.1:1' }, (l) => lines.push(l));
    assert.equal(on?.trackingUri, 'http://127.0.0.1:1');
    assert.equal(lines.length, 1);
  });
});

describe('UI links', () => {
  it('opens the runs view, filtered to the sweep', () => {
    assert.equal(runsViewUrl('http://127.0.0.1:5000/', '7'), 'http://127.0.0.1:5000/#/experiments/7/runs');
    const url = new URL(runsViewUrl('http://127.0.0.1:5000', '7', 'smoke-20261130-010203-ab12').replace('/#/', '/'));
    assert.equal(url.pathname, '/experiments/7/runs');
    assert.equal(url.searchParams.get('searchFilter'), "tags.`mirl.sweep_id` = 'smoke-20261130-010203-ab12'");
  });
});

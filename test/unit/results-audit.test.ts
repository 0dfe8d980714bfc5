// The sweep audit's verdicts on runs and histories built by hand: each defect it exists
// to catch makes it fail, and a clean sweep (with trials that never started) passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditSweep, renderAudit, type RunHistories } from '../../results/audit.js';
import { TAGS } from '../../results/mlflow-contract.js';
import type { Run } from '../../tracking/index.js';

function run(runId: string, trialId: string, status = 'FINISHED'): Run {
  return {
    info: { runId, status } as Run['info'],
    data: { metrics: [], params: {}, tags: { [TAGS.trialId]: trialId } },
  };
}

function steps(...s: number[]): RunHistories {
  return new Map([['loss', s.map((step) => ({ step }))]]);
}

const expected = [
  { trialId: 't0', state: 'done' },
  { trialId: 't1', state: 'done' },
  { trialId: 't2', state: 'cancelled' },
  { trialId: 't3', state: 'running' },
];

test('a clean sweep passes; trials that never trained need no run', () => {
  const runs = [run('r0', 't0'), run('r1', 't1')];
  const histories = new Map([
    ['r0', steps(1, 2, 3)],
    ['r1', steps(1, 2, 3)],
  ]);
  const a = auditSweep(expected, runs, histories);
  assert.equal(a.ok, true, renderAudit('s', a));
  assert.deepEqual([a.trials, a.runs, a.metricHistories, a.metricPoints], [4, 2, 2, 6]);
  assert.deepEqual(a.runStatuses, { FINISHED: 2 });
  assert.match(renderAudit('s', a), /audit passed/);
});

test('each defect fails the audit and is named with its trial', () => {
  const cases: [string, Run[], Map<string, RunHistories>, RegExp][] = [
    ['missing run', [run('r0', 't0')], new Map([['r0', steps(1)]]), /t1: done in Temporal, no MLflow run/],
    [
      'duplicate run',
      [run('r0', 't0'), run('r0b', 't0'), run('r1', 't1')],
      new Map([
        ['r0', steps(1)],
        ['r0b', steps(1)],
        ['r1', steps(1)],
      ]),
      /t0: 2 MLflow runs/,
    ],
    [
      'done but not finished',
      [run('r0', 't0', 'RUNNING'), run('r1', 't1')],
      new Map([
        ['r0', steps(1)],
        ['r1', steps(1)],
      ]),
      /t0: done in Temporal, run r0 is RUNNING/,
    ],
    [
      'step logged twice',
      [run('r0', 't0'), run('r1', 't1')],
      new Map([
        ['r0', steps(1, 2, 2, 3)],
        ['r1', steps(1)],
      ]),
      /t0: loss: 1 step\(s\) logged twice/,
    ],
    ['no metric', [run('r0', 't0'), run('r1', 't1')], new Map([['r0', steps(1)]]), /t1: done, but no metric logged/],
    [
      'stray run',
      [run('r0', 't0'), run('r1', 't1'), run('rx', 'tx')],
      new Map([
        ['r0', steps(1)],
        ['r1', steps(1)],
      ]),
      /tx: run rx not in the sweep/,
    ],
  ];
  for (const [name, runs, histories, finding] of cases) {
    const a = auditSweep(expected, runs, histories);
    const text = renderAudit('s', a);
    assert.equal(a.ok, false, `${name}: ${text}`);
    assert.match(text, finding, name);
    assert.match(text, /audit FAILED\n$/, name);
  }
});

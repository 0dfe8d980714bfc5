// The scale benchmark's working time, read from trial runs' start and end times.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeTime } from '../../bench/sweep-scale.js';
import type { Run } from '../../tracking/index.js';

const run = (startTime: number, endTime?: number) => ({ info: { startTime, endTime } as Run['info'] });

test('wall time runs from the first start to the last end', () => {
  assert.deepEqual(activeTime([run(1_000, 3_000), run(2_000, 9_000), run(4_000, 5_000)]), {
    wallS: 8,
    activeS: 8,
    gaps: 0,
  });
});

test('a stretch with no trial ending for longer than the gap (the stack was down) is left out of the active time', () => {
  const runs = [run(0, 10_000), run(5_000, 20_000), run(21_000, 3_620_000), run(3_600_000, 3_630_000)];
  assert.deepEqual(activeTime(runs, 120_000), { wallS: 3_630, activeS: 30, gaps: 1 });
  assert.deepEqual(activeTime(runs, 4_000_000), { wallS: 3_630, activeS: 3_630, gaps: 0 });
});

test('runs that never ended do not count', () => {
  assert.deepEqual(activeTime([run(0)]), { wallS: 0, activeS: 0, gaps: 0 });
});

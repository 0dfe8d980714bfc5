// The trainer's system metrics, against a probe whose clock, CPU and memory the test sets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SystemSampler, processProbe } from '../../activities/system-metrics.js';

function fakeProbe() {
  const p = { ms: 0, cpu: 0, rss: 100 * 2 ** 20 };
  return { p, probe: { now: () => p.ms, cpuMicros: () => p.cpu, rssBytes: () => p.rss } };
}

test('an evaluation reports CPU over the interval, memory now, and the steps trained since the last one', () => {
  const { p, probe } = fakeProbe();
  const s = new SystemSampler(probe);
  // Step 0 evaluates before any training: nothing to count a rate over.
  p.ms = 500;
  p.cpu = 250_000;
  assert.deepEqual(s.sample(0), { 'system/process_rss_megabytes': 100, 'system/process_cpu_percent': 50 });
  p.ms = 2_500;
  p.cpu = 250_000 + 3_000_000; // 3 s of CPU in 2 s: two threads busy
  p.rss = 300 * 2 ** 20;
  s.mark(10);
  s.mark(20);
  assert.deepEqual(s.sample(100), {
    'system/process_rss_megabytes': 300,
    'system/process_cpu_percent': 150,
    'system/steps_per_second': 50,
  });
});

test('after a resume the first rate counts from the first step seen, not from step 0', () => {
  const { p, probe } = fakeProbe();
  const s = new SystemSampler(probe);
  p.ms = 1_000; // loading the checkpoint
  s.mark(510);
  p.ms = 3_000;
  assert.equal(s.sample(1_000)['system/steps_per_second'], 245);
});

test('the real probe reads this process', () => {
  const s = new SystemSampler(processProbe);
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
  assert.ok(x > 0);
  const m = s.sample(0);
  assert.ok(m['system/process_rss_megabytes'] > 10, JSON.stringify(m));
  assert.ok(m['system/process_cpu_percent'] > 0, JSON.stringify(m));
});

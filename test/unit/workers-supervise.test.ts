// The worker supervisor against fake worker processes whose exits the test decides.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { defaultBackoffMs, supervise } from '../../workers/supervise.js';

class FakeChild extends EventEmitter {
  static next = 100;
  pid = FakeChild.next++;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killedWith: NodeJS.Signals[] = [];
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.exitCode = code;
    this.signalCode = signal;
    this.emit('exit', code, signal);
  }
  kill(signal: NodeJS.Signals): boolean {
    this.killedWith.push(signal);
    setImmediate(() => this.exit(0));
    return true;
  }
}

function harness() {
  const children: FakeChild[] = [];
  const lines: string[] = [];
  const sleeps: number[] = [];
  let clock = 0;
  let stop!: (s: NodeJS.Signals) => void;
  const stopRequested = new Promise<NodeJS.Signals>((r) => (stop = r));
  const spawned = new EventEmitter();
  const run = supervise({
    spawn: () => {
      const c = new FakeChild();
      children.push(c);
      setImmediate(() => spawned.emit('child', c));
      return c as unknown as ChildProcess;
    },
    log: (l) => lines.push(l),
    now: () => clock,
    sleep: async (ms) => void sleeps.push(ms),
    stopRequested,
  });
  const nextChild = () => new Promise<FakeChild>((r) => spawned.once('child', r));
  return { children, lines, sleeps, run, stop, nextChild, advance: (ms: number) => (clock += ms) };
}

test('a worker that dies is restarted, with a growing pause while it keeps dying quickly', async () => {
  const h = harness();
  (await h.nextChild()).exit(null, 'SIGSEGV');
  (await h.nextChild()).exit(1);
  const third = await h.nextChild();
  h.advance(600_000); // healthy for ten minutes: the next failure starts the backoff over
  third.exit(137);
  const fourth = await h.nextChild();
  assert.deepEqual(h.sleeps, [1_000, 2_000, 1_000]);
  assert.match(h.lines[0], /worker \d+ exited \(SIGSEGV\); restarting in 1 s/);
  h.stop('SIGTERM');
  assert.equal(await h.run, 0);
  assert.deepEqual(fourth.killedWith, ['SIGTERM'], 'the stop is passed on to the worker');
  assert.equal(h.children.length, 4);
});

test('a worker that exits cleanly (told to stop by someone else) is not restarted', async () => {
  const h = harness();
  (await h.nextChild()).exit(0);
  assert.equal(await h.run, 0);
  assert.equal(h.children.length, 1);
});

test('the pause is capped at a minute', () => {
  assert.deepEqual([1, 2, 3, 7, 8, 20].map(defaultBackoffMs), [1_000, 2_000, 4_000, 60_000, 60_000, 60_000]);
});

// The trainer: a child process of the runTrial activity, so a trial's TensorFlow.js
// memory and CPU die with it and cancelling means killing. It runs ml/runTrial and
// reports over IPC; it exits on its own if the activity's process goes away. Between
// trials it waits for the next 'start' (see trainer-pool.ts): the backend and MNIST stay
// loaded, which is most of what a short trial costs.
import { runTrial } from '../ml/run-trial.js';
import { SystemSampler, timingMetrics } from './system-metrics.js';
import type { FromTrainer, ToTrainer } from './trainer-protocol.js';

if (!process.send) {
  process.stderr.write('trainer-process: must be started by the runTrial activity (needs an IPC channel)\n');
  process.exit(2);
}

let training = false;
// An orphaned trainer would burn a core for hours and write checkpoints nobody reads.
process.on('disconnect', () => process.exit(training ? 3 : 0));

function send(message: FromTrainer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.connected) return reject(new Error('IPC channel closed'));
    process.send!(message, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

let stopRequested = false;

async function start(msg: Extract<ToTrainer, { type: 'start' }>): Promise<void> {
  training = true;
  stopRequested = false;
  const system = new SystemSampler();
  try {
    const result = await runTrial(msg.config, {
      backend: msg.backend,
      checkpointEvery: msg.checkpointEvery,
      resumeFrom: msg.resumeFrom ?? undefined,
      shouldStop: () => stopRequested,
      onTrainMetrics: (r) => {
        system.mark(r.step);
        return send({ type: 'train', step: r.step, metrics: r.metrics });
      },
      onEvalMetrics: (r, timing) =>
        send({
          type: 'eval',
          step: r.step,
          metrics: r.metrics,
          system: { ...system.sample(r.step), ...timingMetrics(timing) },
        }),
      onCheckpoint: (step, bytes) =>
        send({ type: 'checkpoint', step, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }),
    });
    training = false;
    await send({ type: 'result', result });
  } catch (err) {
    training = false;
    const e = err instanceof Error ? err : new Error(String(err));
    // Some errors (CheckpointCorruptError, zod's) carry their type only in the class name.
    const raw = e.name && e.name !== 'Error' ? e.name : (e.constructor?.name ?? 'Error');
    const name = raw.replace(/^\$/, '');
    await send({ type: 'error', name, message: e.message, stack: e.stack }).catch(() => {});
  }
}

process.on('message', (msg: ToTrainer) => {
  if (msg.type === 'stop') stopRequested = true;
  // The pool hands out idle trainers only, so a 'start' never meets a running trial.
  else if (msg.type === 'start') void start(msg);
});
void send({ type: 'ready' });

// The trainer: a child process of the runTrial activity, so a trial's TensorFlow.js
// memory and CPU die with it and cancelling means killing. It runs ml/runTrial and
// reports over IPC; it exits on its own if the activity's process goes away.
import { runTrial } from '../ml/run-trial.js';
import type { FromTrainer, ToTrainer } from './trainer-protocol.js';

if (!process.send) {
  process.stderr.write('trainer-process: must be started by the runTrial activity (needs an IPC channel)\n');
  process.exit(2);
}

let done = false;
// An orphaned trainer would burn a core for hours and write checkpoints nobody reads.
process.on('disconnect', () => process.exit(done ? 0 : 3));

function send(message: FromTrainer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.connected) return reject(new Error('IPC channel closed'));
    process.send!(message, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

let stopRequested = false;

async function start(msg: Extract<ToTrainer, { type: 'start' }>): Promise<void> {
  try {
    const result = await runTrial(msg.config, {
      backend: msg.backend,
      checkpointEvery: msg.checkpointEvery,
      resumeFrom: msg.resumeFrom ?? undefined,
      shouldStop: () => stopRequested,
      onTrainMetrics: (r) => send({ type: 'train', step: r.step, metrics: r.metrics }),
      onEvalMetrics: (r) => send({ type: 'eval', step: r.step, metrics: r.metrics }),
      onCheckpoint: (step, bytes) => send({ type: 'checkpoint', step, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }),
    });
    await send({ type: 'result', result });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    // Some errors (CheckpointCorruptError, zod's) carry their type only in the class name.
    const raw = e.name && e.name !== 'Error' ? e.name : (e.constructor?.name ?? 'Error');
    const name = raw.replace(/^\$/, '');
    await send({ type: 'error', name, message: e.message, stack: e.stack }).catch(() => {});
  }
  done = true;
  process.disconnect();
}

process.on('message', (msg: ToTrainer) => {
  if (msg.type === 'stop') stopRequested = true;
  else if (msg.type === 'start') void start(msg);
});
void send({ type: 'ready' });

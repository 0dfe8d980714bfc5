// Runs several trials as one seed stack (ml/seed-stack.ts) to their ends: each member
// with the callbacks, metrics, evaluations, checkpoints and result runTrial would give it
// alone, on its own schedule (members may start from checkpoints of different steps). A
// member that finishes, stops or fails leaves; the others go on in a stack rebuilt from
// their checkpoints. This is the loop a stacking trainer runs; what it costs against solo
// trials is `mirl bench --seed-stack`'s question.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from './config.js';
import { InfomaxTrial } from './infomax-trial.js';
import { SeedStack } from './seed-stack.js';
import { NonFiniteError } from './errors.js';
import type { BackendName } from './backend.js';
import type { TrialCallbacks, TrialResult } from './run-trial.js';
import { isEvaluationStep } from './metric-names.js';

export interface StackMember extends TrialCallbacks {
  config: TrialConfig;
  resumeFrom: Uint8Array | null;
  /** Checkpoint every this many of the member's steps (0: only when stopped). */
  checkpointEvery: number;
}

export type MemberOutcome = { ok: true; result: TrialResult } | { ok: false; error: Error };

interface Live {
  index: number;
  member: StackMember;
  resumedFrom: number | null;
  stepsRun: number;
  /** This member's share of the stacked steps' time, in seconds. */
  trainSeconds: number;
  train: Record<string, number>;
  eval: Record<string, number>;
  pending: { step: number; loss: tf.Tensor; est: tf.Tensor }[];
}

/** Member i's state restored into its solo trial (evaluation runs the solo code). */
async function soloOf(stack: SeedStack, slot: number, cfg: TrialConfig): Promise<InfomaxTrial> {
  const solo = new InfomaxTrial(cfg);
  await solo.restore(await stack.checkpointOf(slot));
  return solo;
}

export class StackRun {
  private stack: SeedStack | null = null;
  private live: Live[] = [];
  private readonly outcomes: MemberOutcome[];
  private readonly t0 = performance.now();

  constructor(
    private readonly members: readonly StackMember[],
    private readonly backend: BackendName,
  ) {
    this.outcomes = new Array(members.length);
  }

  /** Every member's outcome, in the order given. */
  async run(): Promise<MemberOutcome[]> {
    this.live = this.members.map((member, index) => ({
      index,
      member,
      resumedFrom: null,
      stepsRun: 0,
      trainSeconds: 0,
      train: {},
      eval: {},
      pending: [],
    }));
    try {
      await this.rebuild(this.members.map((m) => m.resumeFrom));
      for (const [slot, l] of this.live.entries()) {
        const step = this.stack!.steps[slot];
        if (l.member.resumeFrom) l.resumedFrom = step;
        else if (isEvaluationStep(l.member.config, 0)) await this.guard(l, () => this.evaluate(slot, l));
        // A checkpoint written at the end: nothing left to train.
        if (step >= l.member.config.steps) this.finish(l, 'finished', step);
      }
      await this.sweepOut();
      while (this.live.length > 0) await this.step();
    } finally {
      this.live.forEach((l) => tf.dispose(l.pending.flatMap((p) => [p.loss, p.est])));
      this.stack?.dispose();
    }
    return this.outcomes;
  }

  /** A new stack of the live members from their checkpoints (null: a fresh start). */
  private async rebuild(checkpoints: (Uint8Array | null)[]): Promise<void> {
    this.stack?.dispose();
    this.stack = new SeedStack(this.live.map((l) => l.member.config));
    await this.stack.restore(checkpoints);
  }

  private async step(): Promise<void> {
    const stack = this.stack!;
    const stopping = this.live.filter((l) => l.member.shouldStop?.());
    if (stopping.length > 0) return this.stop(stopping);
    const s0 = performance.now();
    const { i_est_train, loss } = stack.advance();
    const ests = tf.unstack(i_est_train);
    const losses = tf.unstack(loss);
    tf.dispose([i_est_train, loss]);
    const share = (performance.now() - s0) / 1000 / this.live.length;
    this.live.forEach((l, slot) => {
      l.stepsRun++;
      l.trainSeconds += share;
      l.pending.push({ step: stack.steps[slot], loss: losses[slot], est: ests[slot] });
    });
    for (const [slot, l] of this.live.entries()) await this.guard(l, () => this.after(slot, l));
    await this.sweepOut();
  }

  /** What member `l` does after its step: its metrics, evaluation, checkpoint. */
  private async after(slot: number, l: Live): Promise<void> {
    const cfg = l.member.config;
    const step = this.stack!.steps[slot];
    const logDue = step % cfg.log_interval === 0 || step === cfg.steps;
    const evalDue = isEvaluationStep(cfg, step);
    const ckptDue = l.member.checkpointEvery > 0 && step % l.member.checkpointEvery === 0;
    if (logDue || evalDue || ckptDue) await this.flush(l);
    if (evalDue) await this.evaluate(slot, l);
    if (ckptDue) await l.member.onCheckpoint?.(step, await this.stack!.checkpointOf(slot));
    if (step >= cfg.steps) this.finish(l, 'finished', step);
  }

  private async flush(l: Live): Promise<void> {
    if (l.pending.length === 0) return;
    const stacked = tf.stack(l.pending.flatMap((p) => [p.loss, p.est]));
    const values = await stacked.data();
    stacked.dispose();
    const pending = l.pending.splice(0);
    tf.dispose(pending.flatMap((p) => [p.loss, p.est]));
    for (const [j, p] of pending.entries()) {
      const metrics = { loss: values[2 * j], i_est_train: values[2 * j + 1] };
      for (const [quantity, v] of Object.entries(metrics))
        if (!Number.isFinite(v)) throw new NonFiniteError(p.step, quantity, v);
      if (p.step % l.member.config.log_interval === 0 || p.step === l.member.config.steps) {
        l.train = metrics;
        await l.member.onTrainMetrics?.({ step: p.step, metrics });
      }
    }
  }

  private async evaluate(slot: number, l: Live): Promise<void> {
    const solo = await soloOf(this.stack!, slot, l.member.config);
    try {
      l.eval = await solo.evaluate();
    } finally {
      solo.dispose();
    }
    if (Object.keys(l.eval).length > 0)
      await l.member.onEvalMetrics?.({ step: this.stack!.steps[slot], metrics: l.eval });
  }

  /** Members asked to stop write a checkpoint and leave with a 'stopped' result. */
  private async stop(stopping: readonly Live[]): Promise<void> {
    for (const l of stopping) {
      const slot = this.live.indexOf(l);
      await this.guard(l, async () => {
        await this.flush(l);
        const step = this.stack!.steps[slot];
        await l.member.onCheckpoint?.(step, await this.stack!.checkpointOf(slot));
        this.finish(l, 'stopped', step);
      });
    }
    await this.sweepOut();
  }

  /** A member's own failure ends it alone. */
  private async guard(l: Live, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.outcomes[l.index] = { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
  }

  private finish(l: Live, status: TrialResult['status'], step: number): void {
    this.outcomes[l.index] = {
      ok: true,
      result: {
        status,
        step,
        backend: this.backend,
        resumedFrom: l.resumedFrom,
        train: l.train,
        eval: l.eval,
        seconds: (performance.now() - this.t0) / 1000,
        // Each stacked step's time split over the members it served.
        msPerStep: l.stepsRun > 0 ? (1000 * l.trainSeconds) / l.stepsRun : 0,
      },
    };
  }

  /** Drops the members that have an outcome and restacks the rest from their checkpoints. */
  private async sweepOut(): Promise<void> {
    const stack = this.stack!;
    const keep = this.live.map((l, slot) => ({ l, slot })).filter(({ l }) => this.outcomes[l.index] === undefined);
    if (keep.length === this.live.length) return;
    const checkpoints = await Promise.all(keep.map(({ slot }) => stack.checkpointOf(slot)));
    for (const l of this.live) if (!keep.some((k) => k.l === l)) tf.dispose(l.pending.flatMap((p) => [p.loss, p.est]));
    this.live = keep.map(({ l }) => l);
    if (this.live.length > 0) await this.rebuild(checkpoints);
  }
}

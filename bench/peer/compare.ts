// mirl against a peer framework on the same step definitions. The machines these runs
// share are noisy, so the two sides alternate round by round in one process tree (each
// measurement a fresh child process) and each side keeps its best round: load that comes
// and goes then hits both sides alike, and only the ratio mirl/peer is reported.
import type { BenchRow } from '../targets.js';
import { peerSkipReason, type PeerMeasurement } from './jax.js';

export type Side = 'mirl' | 'peer';
export type PeerName = 'jax';

/** mirl, peer, mirl, peer, ...: `rounds` turns each, mirl first in every round. */
export function alternationSchedule(rounds: number): Side[] {
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new RangeError(`peer rounds must be a whole number >= 1, got ${rounds}`);
  return Array.from({ length: rounds }, () => ['mirl', 'peer'] as Side[]).flat();
}

export interface RoundResults {
  /** Median ms per step of each successful round, in order. */
  mirl: number[];
  peer: number[];
  errors: string[];
  peerVersion: string | null;
  peerInitialLoss: number | null;
}

/**
 * One comparison row. Each side's figure is its best (smallest) round median: the round
 * least disturbed by other load, which is what either framework can do on this machine.
 */
export function peerRow(name: string, backend: string, peer: PeerName, rounds: number, r: RoundResults): BenchRow {
  const base = { measure: 'peer', case: name, backend, peer, rounds };
  if (r.mirl.length === 0 || r.peer.length === 0) {
    const missing = r.mirl.length === 0 ? 'mirl' : peer;
    return {
      ...base,
      error: `no successful ${missing} round: ${r.errors[r.errors.length - 1] ?? 'not run'}`.slice(0, 400),
    };
  }
  const mirlMs = Math.min(...r.mirl);
  const peerMs = Math.min(...r.peer);
  return {
    ...base,
    mirl_ms: mirlMs,
    peer_ms: peerMs,
    ratio: mirlMs / peerMs,
    peer_version: r.peerVersion,
    mirl_round_ms: r.mirl,
    peer_round_ms: r.peer,
    ...(r.peerInitialLoss !== null ? { peer_initial_loss: r.peerInitialLoss } : {}),
    ...(r.errors.length ? { round_errors: r.errors } : {}),
  };
}

export function skippedRow(name: string, peer: PeerName, reason: string): BenchRow {
  return { measure: 'peer', case: name, peer, skipped: reason };
}

/** The requested cases split into those the peer runs and those it skips, with the reason. */
export function partitionCases(cases: string[]): { run: string[]; skipped: { name: string; reason: string }[] } {
  const run: string[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const name of cases) {
    const reason = peerSkipReason(name);
    if (reason === null) run.push(name);
    else skipped.push({ name, reason });
  }
  return { run, skipped };
}

export interface StepPlan {
  steps: number;
  warmup: number;
}

export interface PeerComparisonOptions {
  peer: PeerName;
  cases: string[];
  backends: string[];
  rounds: number;
  /** Steps and warm-up of a case on a backend; the peer runs the same counts. */
  plan: (name: string, backend: string) => StepPlan | null;
  measureMirl: (name: string, backend: string, plan: StepPlan) => Promise<Record<string, unknown>>;
  measurePeer: (name: string, plan: StepPlan) => Promise<PeerMeasurement | { error: string }>;
  add: (row: BenchRow) => void;
}

async function compareCase(o: PeerComparisonOptions, name: string, backend: string, plan: StepPlan): Promise<BenchRow> {
  const r: RoundResults = { mirl: [], peer: [], errors: [], peerVersion: null, peerInitialLoss: null };
  for (const side of alternationSchedule(o.rounds)) {
    if (side === 'mirl') {
      const m = await o.measureMirl(name, backend, plan);
      if (typeof m.ms_per_step === 'number' && Number.isFinite(m.ms_per_step)) r.mirl.push(m.ms_per_step);
      else r.errors.push(`mirl: ${String(m.error ?? 'no ms_per_step')}`);
    } else {
      const p = await o.measurePeer(name, plan);
      if ('error' in p) r.errors.push(`${o.peer}: ${p.error}`);
      else {
        r.peer.push(p.ms_per_step_median);
        r.peerVersion = p.jax_version;
        r.peerInitialLoss ??= p.initial_loss ?? null;
      }
    }
  }
  return peerRow(name, backend, o.peer, o.rounds, r);
}

/** A 'peer' row per case the peer can express and backend that runs it; the rest skipped. */
export async function runPeerComparison(o: PeerComparisonOptions): Promise<void> {
  const { run, skipped } = partitionCases(o.cases);
  for (const s of skipped) o.add(skippedRow(s.name, o.peer, s.reason));
  for (const name of run) {
    for (const backend of o.backends) {
      const plan = o.plan(name, backend);
      if (plan) o.add(await compareCase(o, name, backend, plan));
    }
  }
}

// A graph session's copy of a trial's state: the weights of one or more optimizers, their
// Adam moments and beta powers. The trial's ParamStore and FlatAdams stay the state that
// checkpoints, evaluations and everything else read; load() puts them into the session
// (at the first step, after a restore), save() takes them back (before a checkpoint or an
// evaluation). Both copy tensors within TensorFlow, with no download, so a checkpoint is
// the one the eager path would write.
import * as tf from '@tensorflow/tfjs';
import type { ParamStore } from '../params.js';
import type { FlatAdam } from '../flat-adam.js';
import type { Graph, Variable } from './graph.js';
import type { MomentIo } from './adam.js';
import { GraphSession } from './session.js';

/** Feeds that set every variable at once (loads a checkpoint), and reads that take them out. */
export interface StateIo {
  /** Placeholder name by variable name; run `loaded` with them all fed. */
  feeds: Map<string, string>;
  loaded: string;
  /** A read of each variable by name, for fetching its value. */
  peeks: Map<string, string>;
}

export function addStateIo(g: Graph, variables: readonly Variable[], moreAssigns: readonly string[] = []): StateIo {
  const feeds = new Map<string, string>();
  const peeks = new Map<string, string>();
  const assigns: string[] = [...moreAssigns];
  for (const v of variables) {
    const ph = g.placeholder(`load/${v.name}`, v.shape);
    feeds.set(v.name, ph.ref);
    assigns.push(v.assign(ph));
    peeks.set(v.name, v.read().ref);
  }
  // The binding fetches outputs only (no run targets): a constant behind the assigns.
  const loaded = g.node('Identity', [g.constant(0)], { T: { type: 'float32' } }, [{ shape: [], dtype: 'float32' }], {
    name: 'load/done',
    control: assigns,
  })[0];
  return { feeds, loaded: loaded.ref, peeks };
}

/** One optimizer's share of a graph: its weights by ParamStore name, moments and beta powers. */
export interface OptimizerSlot {
  params: Map<string, Variable>;
  moments: MomentIo;
  betaPowers: { b1: Variable; b2: Variable };
}

export class GraphState {
  private readonly io: StateIo;
  readonly session: GraphSession;
  /** Each optimizer's iteration count as the session's state stands. */
  private readonly iterations: number[];

  constructor(
    readonly graph: Graph,
    private readonly slots: readonly OptimizerSlot[],
  ) {
    const variables = slots.flatMap((s) => [...s.params.values(), s.betaPowers.b1, s.betaPowers.b2]);
    this.io = addStateIo(
      graph,
      variables,
      slots.flatMap((s) => s.moments.loadAssigns),
    );
    this.session = GraphSession.open(graph);
    this.iterations = slots.map(() => 0);
  }

  /** Counts an update of slot i (the session's Adam advanced it). */
  stepped(i: number, updates = 1): void {
    this.iterations[i] += updates;
  }

  /** Puts the trial's parameters and each slot's Adam state into the session. */
  load(store: ParamStore, opts: readonly FlatAdam[]): void {
    const feeds: Record<string, tf.Tensor> = {};
    const owned: tf.Tensor[] = [];
    const fresh: (() => void)[] = [];
    this.slots.forEach((slot, i) => {
      const opt = opts[i];
      const names = [...slot.params.keys()];
      const state = opt.exportState();
      // Before a first update the moments are zeros; the flat Adam then holds them as its
      // eager update would have allocated them, so a trial's tensors are those of the eager path.
      const moments = (parts: tf.Tensor[] | null) =>
        names.map((n) => {
          const j = state.names.indexOf(n);
          return parts && j >= 0 ? parts[j] : tf.zeros(slot.params.get(n)!.shape as number[]);
        });
      const m = moments(state.m);
      const v = moments(state.v);
      owned.push(...m, ...v);
      feeds[this.io.feeds.get(slot.betaPowers.b1.name)!] = opt.accBeta1;
      feeds[this.io.feeds.get(slot.betaPowers.b2.name)!] = opt.accBeta2;
      names.forEach((n, j) => {
        feeds[this.io.feeds.get(slot.params.get(n)!.name)!] = store.get(n);
        feeds[slot.moments.feeds.get(n)!.m] = m[j];
        feeds[slot.moments.feeds.get(n)!.v] = v[j];
      });
      if (state.m === null || state.v === null)
        fresh.push(() => opt.importState({ names, m, v, iterations: state.iterations }));
      this.iterations[i] = state.iterations;
    });
    try {
      tf.dispose(this.session.run(feeds, [this.io.loaded]));
      for (const f of fresh) f();
    } finally {
      tf.dispose(owned);
    }
  }

  /** Takes the session's parameters and each slot's Adam state back into the trial's. */
  save(store: ParamStore, opts: readonly FlatAdam[]): void {
    const peek = (v: Variable) => this.io.peeks.get(v.name)!;
    this.slots.forEach((slot, i) => {
      const names = [...slot.params.keys()];
      const refs = [
        ...names.map((n) => peek(slot.params.get(n)!)),
        ...names.map((n) => slot.moments.peeks.get(n)!.m),
        ...names.map((n) => slot.moments.peeks.get(n)!.v),
        peek(slot.betaPowers.b1),
        peek(slot.betaPowers.b2),
      ];
      const out = this.session.run({}, refs);
      try {
        const n = names.length;
        names.forEach((name, j) => store.get(name).assign(out[j]));
        opts[i].importState({
          names,
          m: out.slice(n, 2 * n),
          v: out.slice(2 * n, 3 * n),
          iterations: this.iterations[i],
          beta1Power: out[3 * n],
          beta2Power: out[3 * n + 1],
        });
      } finally {
        tf.dispose(out);
      }
    });
  }

  dispose(): void {
    this.session.dispose();
  }
}

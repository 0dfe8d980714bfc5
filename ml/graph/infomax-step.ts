// The infomax training step as one TensorFlow graph: encoders, critic, estimator,
// objective, their gradients and Adam, written with the same operations in the same
// order as the tfjs fast path (ml/encoders.ts, ml/critics.ts, ml/estimators.ts,
// ml/flat-adam.ts), so a step here and a step there agree to float rounding.
import type { TrialConfig } from '../config.js';
import { Graph, GraphError, type Sym, type Variable } from './graph.js';
import * as op from './ops.js';
import { buildAdam, type MomentIo } from './adam.js';
import type { GraphAdam } from '../step-path.js';
import { GRAPH_ENCODERS, Params, encoder, scores, type EncoderHints } from './layers.js';

/** The model families the graph step covers; anything else trains on the tfjs path. */
export function graphStepRefusal(cfg: TrialConfig): string | null {
  if (cfg.procedure !== 'infomax') return `the ${cfg.procedure} procedure`;
  if (!(GRAPH_ENCODERS as readonly string[]).includes(cfg.encoder)) return `the ${cfg.encoder} encoder`;
  return null;
}

function square(k: number, value: (i: number, j: number) => number): Float32Array {
  const v = new Float32Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) v[i * k + j] = value(i, j);
  return v;
}

/** ml/estimators.ts' diagonal: the sum of scores times the identity, along rows. */
function diagonal(g: Graph, s: Sym): Sym {
  const k = s.shape[1];
  return op.sum(
    g,
    op.mul(
      g,
      s,
      g.constant(
        square(k, (i, j) => (i === j ? 1 : 0)),
        [k, k],
      ),
    ),
    [1],
  );
}

function estimate(g: Graph, cfg: TrialConfig, s: Sym): Sym {
  const k = s.shape[1];
  if (cfg.estimator === 'nce') {
    const rows = op.sub(g, diagonal(g, s), op.logSumExp(g, s, 1));
    return op.add(g, g.constant(Math.log(k)), op.mean(g, rows, [0]));
  }
  const shifted = op.sub(g, s, g.constant(1));
  const joint = op.mean(g, diagonal(g, shifted), [0]);
  const mask = g.constant(
    square(k, (i, j) => (i === j ? -Infinity : 0)),
    [k, k],
  );
  const pairs = op.reshape(g, op.add(g, shifted, mask), [k * k]);
  const marginal = op.exp(g, op.sub(g, op.logSumExp(g, pairs, 0), g.constant(Math.log(k * (k - 1)))));
  return op.sub(g, op.add(g, g.constant(1), joint), marginal);
}

function objective(g: Graph, cfg: TrialConfig, est: Sym): Sym {
  if (cfg.objective === 'maximize') return op.neg(g, est);
  if (cfg.target === null) throw new GraphError('objective "target" needs a target value');
  return op.abs(g, op.sub(g, est, g.constant(cfg.target)));
}

export interface InfomaxGraph {
  graph: Graph;
  /** Trainable variables by ParamStore name, in the order they were created. */
  params: Map<string, Variable>;
  moments: MomentIo;
  betaPowers: { b1: Variable; b2: Variable };
  /** Fetch these two to train one step: the loss and I_EST before the update. */
  fetches: { loss: string; estimate: string };
}

/** The whole step for one trial configuration at batch size K. */
export function buildInfomaxGraph(
  cfg: TrialConfig,
  dimX: number,
  dimY: number,
  prefix: string,
  hints: { g1: EncoderHints; g2: EncoderHints } = { g1: {}, g2: {} },
  adam: GraphAdam = 'fused',
): InfomaxGraph {
  const refusal = graphStepRefusal(cfg);
  if (refusal) throw new GraphError(`no graph step for ${refusal}`);
  const g = new Graph();
  const k = cfg.batch_size;
  const x = g.placeholder('x', [k, dimX]);
  const y = g.placeholder('y', [k, dimY]);
  const p = new Params(g, prefix);
  const zx = encoder(g, p, 'g1', x, cfg, hints.g1);
  const zy = encoder(g, p, 'g2', y, cfg, hints.g2);
  const est = estimate(g, cfg, scores(g, p, cfg, zx, zy));
  const loss = objective(g, cfg, est);
  const names = [...p.vars.keys()];
  const grads = g.gradients(
    loss,
    names.map((n) => p.reads.get(n)!),
  );
  const { assigns, moments, betaPowers } = buildAdam(
    g,
    { learningRate: cfg.learning_rate, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, fused: adam === 'fused' },
    prefix,
    p.vars,
    p.reads,
    new Map(names.map((n, i) => [n, grads[i]])),
  );
  const done = (s: Sym, name: string) =>
    g.node('Identity', [s], { T: { type: 'float32' } }, [{ shape: [], dtype: 'float32' }], {
      name,
      control: assigns,
    })[0].ref;
  return {
    graph: g,
    params: p.vars,
    moments,
    betaPowers,
    fetches: { loss: done(loss, 'step/loss'), estimate: done(est, 'step/estimate') },
  };
}

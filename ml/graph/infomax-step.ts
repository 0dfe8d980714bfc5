// The infomax training step as one TensorFlow graph: encoders, critic, estimator,
// objective, their gradients and Adam, written with the same operations in the same
// order as the tfjs fast path (ml/encoders.ts, ml/critics.ts, ml/estimators.ts,
// ml/flat-adam.ts), so a step here and a step there agree to float rounding.
import type { TrialConfig } from '../config.js';
import { Graph, GraphError, type Sym, type Variable } from './graph.js';
import * as op from './ops.js';
import { buildAdam, type MomentIo } from './adam.js';
import type { GraphAdam } from '../step-path.js';
import { Params, type EncoderHints } from './layers.js';
import { encoderForms } from '../encoders.js';
import { criticForms } from '../critics.js';
import { estimatorForms } from '../estimators.js';

/** The procedures the graph step covers (every encoder, critic and estimator has a graph form); anything else trains on the tfjs path. */
export function graphStepRefusal(cfg: TrialConfig): string | null {
  if (cfg.procedure !== 'infomax') return `the ${cfg.procedure} procedure`;
  return null;
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
  const encode = encoderForms(cfg.encoder).graph;
  const zx = encode(g, p, 'g1', x, cfg, hints.g1);
  const zy = encode(g, p, 'g2', y, cfg, hints.g2);
  const est = estimatorForms(cfg.estimator).graph(g, criticForms(cfg.critic).graph(g, p, cfg, zx, zy));
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

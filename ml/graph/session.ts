// Runs a Graph (ml/graph/graph.ts) in a TensorFlow session of the native backend. tfjs-node
// loads and runs SavedModels through TensorFlow's C API, and its backend exposes that by
// session id; a SavedModel is nothing but the serialized graph (the variables here live
// in the session, not in files), so the graph is written as one, loaded, and the folder
// removed. The protobuf classes are tfjs-node's own (compiled from TensorFlow's .proto
// files), so the bytes are what its loader reads.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Attr, DType, Graph } from './graph.js';

const require = createRequire(import.meta.url);

/** The parts of tfjs-node's NodeJSKernelBackend that run sessions. */
interface SessionBackend {
  loadSavedModelMetaGraph(path: string, tags: string): number;
  runSavedModel(id: number, inputs: tf.Tensor[], infos: { name: string }[], outputs: string[]): tf.Tensor[];
  deleteSavedModel(id: number): void;
}

export class GraphSessionError extends Error {}

const DATA_TYPES: Record<DType, number> = { float32: 1, int32: 3, bool: 10, resource: 20 };

type Proto = any;

function protoModule(): Proto {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      return require(`${pkg}/dist/proto/api_pb`);
    } catch {
      // The next package, as ml/backend.ts tries them.
    }
  }
  throw new GraphSessionError('graph sessions need the native backend (@tensorflow/tfjs-node)');
}

function shapeProto(pb: Proto, dims: readonly number[]): Proto {
  const s = new pb.TensorShape();
  for (const d of dims) {
    const dim = new pb.TensorShape.Dim();
    dim.setSize(d);
    s.addDim(dim);
  }
  return s;
}

function attrProto(pb: Proto, a: Attr): Proto {
  const v = new pb.AttrValue();
  if ('type' in a) v.setType(DATA_TYPES[a.type]);
  else if ('shape' in a) v.setShape(shapeProto(pb, a.shape));
  else if ('b' in a) v.setB(a.b);
  else if ('i' in a) v.setI(a.i);
  else if ('s' in a) v.setS(Buffer.from(a.s));
  else if ('ints' in a) {
    const list = new pb.AttrValue.ListValue();
    for (const i of a.ints) list.addI(i);
    v.setList(list);
  } else {
    const t = new pb.Tensor();
    t.setDtype(DATA_TYPES[a.tensor.dtype]);
    t.setTensorShape(shapeProto(pb, a.tensor.shape));
    const typed = a.tensor.dtype === 'float32' ? Float32Array.from(a.tensor.values) : Int32Array.from(a.tensor.values);
    t.setTensorContent(new Uint8Array(typed.buffer));
    v.setTensor(t);
  }
  return v;
}

/** The graph as a SavedModel's bytes: one meta graph tagged 'serve', no signatures. */
export function savedModelBytes(graph: Graph): Uint8Array {
  const pb = protoModule();
  const gd = new pb.GraphDef();
  for (const n of graph.nodes) {
    const node = new pb.NodeDef();
    node.setName(n.name);
    node.setOp(n.op);
    for (const i of n.inputs) node.addInput(i);
    for (const [k, a] of Object.entries(n.attrs)) node.getAttrMap().set(k, attrProto(pb, a));
    gd.addNode(node);
  }
  const meta = new pb.MetaGraphDef();
  const info = new pb.MetaGraphDef.MetaInfoDef();
  info.addTags('serve');
  meta.setMetaInfoDef(info);
  meta.setGraphDef(gd);
  const model = new pb.SavedModel();
  model.setSavedModelSchemaVersion(1);
  model.addMetaGraphs(meta);
  return model.serializeBinary();
}

function sessionBackend(): SessionBackend {
  const be = tf.findBackend('tensorflow') as unknown as Partial<SessionBackend> | null;
  if (tf.getBackend() !== 'tensorflow' || !be || typeof be.runSavedModel !== 'function')
    throw new GraphSessionError(`graph sessions run on the tensorflow backend, not ${tf.getBackend()}`);
  return be as SessionBackend;
}

/** A loaded graph: feed placeholders by node name, fetch outputs by reference ("node" or "node:1"). */
export class GraphSession {
  private disposed = false;

  private constructor(
    private readonly backend: SessionBackend,
    private readonly id: number,
  ) {}

  static open(graph: Graph): GraphSession {
    const backend = sessionBackend();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirl-graph-'));
    try {
      fs.writeFileSync(path.join(dir, 'saved_model.pb'), savedModelBytes(graph));
      return new GraphSession(backend, backend.loadSavedModelMetaGraph(dir, 'serve'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** One session run; the outputs are new tensors the caller owns. */
  run(feeds: Record<string, tf.Tensor>, fetches: readonly string[]): tf.Tensor[] {
    if (this.disposed) throw new GraphSessionError('this graph session was disposed');
    const names = Object.keys(feeds);
    return this.backend.runSavedModel(
      this.id,
      names.map((n) => feeds[n]),
      names.map((name) => ({ name })),
      [...fetches],
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.backend.deleteSavedModel(this.id);
  }
}

// A TensorFlow graph built from TypeScript: nodes as TensorFlow's GraphDef names them,
// with static shapes, and for each differentiable node the rule that gives its inputs'
// gradients as more nodes. A training step built here runs as one session call in
// TensorFlow's own executor (ml/graph/session.ts) instead of ~180 kernels dispatched
// one by one through the JavaScript binding, where most of a small model's step goes.
export type DType = 'float32' | 'int32' | 'bool' | 'resource';

export type Attr =
  | { type: DType }
  | { shape: readonly number[] }
  | { b: boolean }
  | { i: number }
  | { s: string }
  | { ints: readonly number[] }
  | { tensor: { dtype: 'float32' | 'int32'; shape: readonly number[]; values: ArrayLike<number> } };

export interface NodeSpec {
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly string[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

/** One output of a node: what later nodes take as input. */
export interface Sym {
  readonly ref: string;
  readonly node: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** The gradients of a node's inputs from its output's gradient (null: not differentiable there). */
export type GradRule = (g: Sym) => (Sym | null)[];

interface TapeEntry {
  readonly out: Sym;
  readonly inputs: readonly Sym[];
  readonly grad: GradRule;
}

export class GraphError extends Error {}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** The numpy broadcast of two static shapes. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new GraphError(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

export class Graph {
  readonly nodes: NodeSpec[] = [];
  private readonly tape: TapeEntry[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, Sym>();
  /** Off while gradients are built: first-order gradients need no tape of their own. */
  private recording = true;

  /** A fresh node name under `base` (TensorFlow node names must be unique). */
  private unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node and returns its outputs; with `grad`, the first output joins the tape. */
  node(
    op: string,
    inputs: readonly (Sym | string)[],
    attrs: Record<string, Attr>,
    outputs: { shape: readonly number[]; dtype: DType }[],
    opts: {
      name?: string;
      grad?: GradRule;
      control?: readonly string[];
      /** What `grad` differentiates with respect to, when not the node's own inputs (a fused pair of nodes). */
      inputs?: readonly Sym[];
    } = {},
  ): Sym[] {
    const name = this.unique(opts.name ?? op);
    const refs = inputs.map((x) => (typeof x === 'string' ? x : x.ref));
    for (const c of opts.control ?? []) refs.push(`^${c}`);
    this.nodes.push({ name, op, inputs: refs, attrs });
    const outs = outputs.map((o, i) => ({ ref: i === 0 ? name : `${name}:${i}`, node: name, ...o }));
    if (opts.grad && this.recording)
      this.tape.push({
        out: outs[0],
        inputs: opts.inputs ?? inputs.filter((x): x is Sym => typeof x !== 'string'),
        grad: opts.grad,
      });
    return outs;
  }

  placeholder(name: string, shape: readonly number[], dtype: 'float32' | 'int32' = 'float32'): Sym {
    return this.node('Placeholder', [], { dtype: { type: dtype }, shape: { shape } }, [{ shape, dtype }], { name })[0];
  }

  /** A float32 constant; scalars are shared. */
  constant(values: number | ArrayLike<number>, shape: readonly number[] = []): Sym {
    const key = typeof values === 'number' && shape.length === 0 ? String(values) : null;
    const hit = key === null ? undefined : this.constants.get(key);
    if (hit) return hit;
    const v = typeof values === 'number' ? [values] : values;
    const out = this.node(
      'Const',
      [],
      { dtype: { type: 'float32' }, value: { tensor: { dtype: 'float32', shape, values: v } } },
      [{ shape, dtype: 'float32' }],
      { name: 'const' },
    )[0];
    if (key !== null) this.constants.set(key, out);
    return out;
  }

  intConstant(values: readonly number[]): Sym {
    return this.node(
      'Const',
      [],
      { dtype: { type: 'int32' }, value: { tensor: { dtype: 'int32', shape: [values.length], values } } },
      [{ shape: [values.length], dtype: 'int32' }],
      { name: 'shape' },
    )[0];
  }

  intScalar(value: number): Sym {
    return this.node(
      'Const',
      [],
      { dtype: { type: 'int32' }, value: { tensor: { dtype: 'int32', shape: [], values: [value] } } },
      [{ shape: [], dtype: 'int32' }],
      { name: 'axis' },
    )[0];
  }

  intMatrix(values: readonly number[], shape: readonly number[]): Sym {
    return this.node(
      'Const',
      [],
      { dtype: { type: 'int32' }, value: { tensor: { dtype: 'int32', shape, values } } },
      [{ shape, dtype: 'int32' }],
      { name: 'paddings' },
    )[0];
  }

  /** A resource variable that lives in the session between runs. */
  variable(name: string, shape: readonly number[]): Variable {
    const handle = this.node(
      'VarHandleOp',
      [],
      { dtype: { type: 'float32' }, shape: { shape }, shared_name: { s: name }, container: { s: '' } },
      [{ shape: [], dtype: 'resource' }],
      { name: `var/${name}` },
    )[0];
    return new Variable(this, name, handle, shape);
  }

  /** Gradients of `loss` (a scalar) with respect to each of `wrt`, by the tape in reverse. */
  gradients(loss: Sym, wrt: readonly Sym[]): Sym[] {
    if (loss.shape.length !== 0) throw new GraphError(`gradients need a scalar loss, got [${loss.shape}]`);
    const acc = new Map<string, Sym[]>([[loss.ref, [this.constant(1)]]]);
    this.recording = false;
    try {
      return this.backward(acc, wrt);
    } finally {
      this.recording = true;
    }
  }

  private backward(acc: Map<string, Sym[]>, wrt: readonly Sym[]): Sym[] {
    for (let i = this.tape.length - 1; i >= 0; i--) {
      const e = this.tape[i];
      const parts = acc.get(e.out.ref);
      if (!parts) continue;
      const g = this.addAll(parts);
      e.grad(g).forEach((gi, j) => {
        if (!gi) return;
        const x = e.inputs[j];
        if (!sameShape(gi.shape, x.shape))
          throw new GraphError(`${e.out.node}: gradient [${gi.shape}] for input of shape [${x.shape}]`);
        acc.set(x.ref, [...(acc.get(x.ref) ?? []), gi]);
      });
    }
    return wrt.map((w) => {
      const parts = acc.get(w.ref);
      if (!parts) throw new GraphError(`the loss does not depend on ${w.node}`);
      return this.addAll(parts);
    });
  }

  private addAll(parts: Sym[]): Sym {
    if (parts.length === 1) return parts[0];
    return this.node('AddN', parts, { N: { i: parts.length }, T: { type: 'float32' } }, [
      { shape: parts[0].shape, dtype: 'float32' },
    ])[0];
  }
}

export class Variable {
  constructor(
    private readonly g: Graph,
    readonly name: string,
    readonly handle: Sym,
    readonly shape: readonly number[],
  ) {}

  /** The variable's value; reads taken before an assign in the same run see the old value only if ordered by control edges. */
  read(opts: { control?: readonly string[] } = {}): Sym {
    return this.g.node(
      'ReadVariableOp',
      [this.handle],
      { dtype: { type: 'float32' } },
      [{ shape: this.shape, dtype: 'float32' }],
      {
        name: `read/${this.name}`,
        control: opts.control,
      },
    )[0];
  }

  /** An assign node (no output); its name serves as a control input. */
  assign(value: Sym, opts: { control?: readonly string[] } = {}): string {
    if (!sameShape(value.shape, this.shape))
      throw new GraphError(`assign to ${this.name} [${this.shape}] of a value [${value.shape}]`);
    this.g.node('AssignVariableOp', [this.handle, value], { dtype: { type: 'float32' } }, [], {
      name: `assign/${this.name}`,
      control: opts.control,
    });
    return this.g.nodes[this.g.nodes.length - 1].name;
  }
}

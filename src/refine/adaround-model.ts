/**
 * A unit (refine/units.ts) as the small ONNX model AdaRound trains: its nodes as in the prepared graph,
 * each learnable weight replaced by W̃ computed from its rounding variable V in the graph,
 *     W̃ = s·(⌊W/s⌋ + h(V)) = A + S ⊙ h(V),  h(V) = Clip(Sigmoid(V)·(ζ − γ) + γ, 0, 1),
 * with A = s·⌊W/s⌋ and S = s as constants of the weight's shape (per-channel scales spread out; S = 0
 * where the grid's end leaves no choice, so that W̃ stays inside [qmin, qmax] without a Clip on
 * tensors), and every quantized activation it reads or makes inside — not its output, which the next
 * unit reads quantized — behind onnxq's FakeQuantize with the plan's scale and zero point (straight-
 * through gradient), as the deployed model quantizes them. buildTrainingGraph then adds the loss and the
 * backward pass; V is its one kind of trainable tensor.
 */
import { clone, create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema, type ModelProto, type NodeProto, type TensorProto } from 'onnx-buf';
import { DT } from '../onnx/dtype.js';
import { floatTensor, makeTensor, readFloat32, readTensor, tensorDims } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import { irVersionForOpset, opsetVersion } from '../ir/model.js';
import { makeAttr, makeNode } from '../ir/node.js';
import { NameSet } from '../ir/names.js';
import { makeValueInfo } from '../ir/types.js';
import { upgradeOpset } from '../passes/upgrade-opset/index.js';
import { activationSpec, isQuantized, weightSpec, type QuantPlan } from '../plan/plan.js';
import { qrange } from '../quant/spec.js';
import { roundHalfEven } from '../quant/round.js';
import { FAKE_QUANT_DOMAIN, FAKE_QUANT_OP } from '../train/backward/fake-quantize.js';
import { TRAIN_OPSET } from '../train/graph.js';
import { GAMMA, initialV, ZETA } from './rounding.js';
import type { Unit } from './units.js';

/** A weight on its quantization grid: W̃ = base + step ⊙ h, h ∈ [0, 1] per entry. */
export interface WeightGrid {
  name: string;
  dims: number[];
  /** s·⌊W/s⌋, clipped to the grid (float32 products, as the exporter's DequantizeLinear computes them). */
  base: Float32Array;
  /** s where the entry may round either way, 0 where the grid's end fixes it. */
  step: Float32Array;
  /** 1 where the entry may round either way. */
  free: Uint8Array;
  /** h of round to nearest, as the exporter rounds (half to even); 0 where not free. */
  nearest: Uint8Array;
  /** V with h(V) = frac(W/s): the start of training. */
  v0: Float32Array;
  /** ⌊W/s⌋ clipped to the grid: the stored integer is floor + h + the zero point. */
  floor: Int32Array;
  /** Per entry, the index of its scale. */
  channel: Int32Array;
  scale: Float32Array;
}

export function weightGrid(graph: Graph, plan: QuantPlan, name: string): WeightGrid {
  const e = plan.weights[name]!;
  const p = e.params!;
  const t = graph.initializer(name)!;
  const w = readFloat32(t);
  const dims = tensorDims(t);
  const { qmin, qmax } = qrange(weightSpec(e));
  const axis = e.axis === undefined ? undefined : e.axis < 0 ? e.axis + dims.length : e.axis;
  const inner = axis === undefined ? w.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channels = axis === undefined ? 1 : dims[axis]!;
  const scale = Float32Array.from(p.scale);
  const zeroPoint = Int32Array.from(p.zeroPoint);
  const n = w.length;
  const g: WeightGrid = {
    name,
    dims,
    base: new Float32Array(n),
    step: new Float32Array(n),
    free: new Uint8Array(n),
    nearest: new Uint8Array(n),
    v0: new Float32Array(n),
    floor: new Int32Array(n),
    channel: new Int32Array(n),
    scale,
  };
  for (let i = 0; i < n; i++) {
    const c = axis === undefined ? 0 : Math.floor(i / inner) % channels;
    const s = scale[c]!;
    const z = zeroPoint[c]!;
    const u = Math.fround(w[i]! / s);
    const lo = qmin - z;
    const hi = qmax - z;
    const fl = Math.min(hi, Math.max(lo, Math.floor(u)));
    const free = fl + 1 <= hi && Math.floor(u) >= lo;
    g.channel[i] = c;
    g.floor[i] = fl;
    g.base[i] = Math.fround(s * fl);
    g.free[i] = free ? 1 : 0;
    g.step[i] = free ? s : 0;
    g.nearest[i] = free ? Math.min(hi, Math.max(lo, roundHalfEven(u))) - fl : 0;
    g.v0[i] = free ? initialV(u - Math.floor(u)) : 0;
  }
  return g;
}

/** The grid values s·(⌊W/s⌋ + h) for rounding decisions h ∈ {0, 1}: what the exporter rounds back to exactly these integers. */
export function gridValues(g: WeightGrid, h: Uint8Array): Float32Array {
  return Float32Array.from(g.floor, (f, i) => Math.fround(g.scale[g.channel[i]!]! * (f + h[i]!)));
}

export interface UnitModel {
  model: ModelProto;
  /** Per learnable weight, the name of its V (an initializer holding V's start). */
  v: Map<string, string>;
}

export function unitModel(graph: Graph, source: ModelProto, plan: QuantPlan, unit: Unit, grids: WeightGrid[], inputRank: number): UnitModel {
  const names = new NameSet();
  const initializers: TensorProto[] = [];
  const constant = (name: string) => {
    if (initializers.some((t) => t.name === name)) return;
    const t = graph.constant(name)!;
    const d = readTensor(t);
    initializers.push(makeTensor(name, d.dtype, d.dims, d.data));
  };
  const nodes: NodeProto[] = [];
  for (const n of [...(unit.fold ? [unit.fold] : []), ...unit.nodes]) {
    const copy = clone(NodeProtoSchema, n);
    for (const x of [...copy.input, ...copy.output]) if (x) names.add(x);
    nodes.push(copy);
  }
  if (unit.fold) nodes[0]!.input[0] = unit.fetch;
  const learnable = new Map(grids.map((g) => [g.name, g]));
  for (const n of nodes) for (const x of n.input) if (x && !learnable.has(x) && graph.constant(x)) constant(x);

  const model = create(ModelProtoSchema, {
    irVersion: BigInt(irVersionForOpset(opsetVersion(source))),
    producerName: 'onnxq-adaround',
    opsetImport: source.opsetImport.filter((o) => o.domain === '' || o.domain === 'ai.onnx').map((o) => create(OperatorSetIdProtoSchema, o)),
    graph: create(GraphProtoSchema, {
      name: 'adaround_unit',
      node: nodes,
      initializer: initializers,
      input: [makeValueInfo(unit.fetch, { dtype: DT.FLOAT, shape: Array.from({ length: inputRank }, (_, i) => `x_${i}`) })],
      output: [makeValueInfo(unit.output, { dtype: DT.FLOAT })],
    }),
  });
  // The nodes added below are written for opset ≥ 13 forms (Clip's bounds as inputs); training needs TRAIN_OPSET anyway.
  if (opsetVersion(model) < TRAIN_OPSET) upgradeOpset(model, TRAIN_OPSET);
  model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: FAKE_QUANT_DOMAIN, version: 1n }));
  const g = model.graph!;
  const scalar = (base: string, v: number) => {
    const name = names.fresh(base);
    g.initializer.push(floatTensor(name, [], [v]));
    return name;
  };
  const before: NodeProto[] = [];
  const v = new Map<string, string>();
  const [zg, gamma, zero, one] = [scalar('zeta_minus_gamma', ZETA - GAMMA), scalar('gamma', GAMMA), scalar('zero', 0), scalar('one', 1)];
  for (const grid of grids) {
    const w = grid.name;
    const [vName, base, step] = [names.fresh(`${w}_adaround_v`), names.fresh(`${w}_adaround_base`), names.fresh(`${w}_adaround_step`)];
    g.initializer.push(floatTensor(vName, grid.dims, grid.v0), floatTensor(base, grid.dims, grid.base), floatTensor(step, grid.dims, grid.step));
    const out = (what: string) => names.fresh(`${w}_adaround_${what}`);
    const [sig, scaled, shifted, h, dw, wq] = ['sigmoid', 'scaled', 'shifted', 'h', 'delta', 'weight'].map(out) as [string, string, string, string, string, string];
    before.push(
      makeNode({ opType: 'Sigmoid', inputs: [vName], outputs: [sig], name: names.fresh(`${w}/adaround/sigmoid`) }),
      makeNode({ opType: 'Mul', inputs: [sig, zg], outputs: [scaled], name: names.fresh(`${w}/adaround/mul`) }),
      makeNode({ opType: 'Add', inputs: [scaled, gamma], outputs: [shifted], name: names.fresh(`${w}/adaround/add`) }),
      makeNode({ opType: 'Clip', inputs: [shifted, zero, one], outputs: [h], name: names.fresh(`${w}/adaround/clip`) }),
      makeNode({ opType: 'Mul', inputs: [h, step], outputs: [dw], name: names.fresh(`${w}/adaround/step`) }),
      makeNode({ opType: 'Add', inputs: [base, dw], outputs: [wq], name: names.fresh(`${w}/adaround/weight`) }),
    );
    for (const n of g.node) n.input = n.input.map((x) => (x === w ? wq : x));
    v.set(w, vName);
  }

  // Activations the deployed model quantizes inside the unit: its input and the values its nodes make, but its output.
  const inside = [unit.input, ...nodes.flatMap((n) => n.output)].filter((t) => t && t !== unit.output);
  for (const t of new Set(inside)) {
    const e = plan.activations[t];
    if (!e || !isQuantized(e)) continue;
    const p = e.params!;
    const { qmin, qmax } = qrange(activationSpec(e));
    const fq = names.fresh(`${t}_fq`);
    const inputs = [t, scalar(`${t}_scale`, p.scale[0]!), ...(p.zeroPoint[0] ? [scalar(`${t}_zero_point`, p.zeroPoint[0])] : [])];
    const node = makeNode({ opType: FAKE_QUANT_OP, domain: FAKE_QUANT_DOMAIN, name: names.fresh(`${t}/fake_quantize`), inputs, outputs: [fq] });
    node.attribute.push(makeAttr('qmin', qmin), makeAttr('qmax', qmax));
    for (const n of g.node) n.input = n.input.map((x) => (x === t ? fq : x));
    // Right after the value is made (or first, for the unit's input).
    const at = g.node.findIndex((n) => n.output.includes(t));
    g.node.splice(at + 1, 0, node);
  }
  g.node.unshift(...before);
  return { model, v };
}

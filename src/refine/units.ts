/**
 * What AdaRound reconstructs at a time (a unit): one layer — a Conv, ConvTranspose, Gemm or MatMul
 * with a quantized weight, with the Relu-like activation that alone reads its output (the paper's
 * f_a(W x)) — or, for `--reconstruct block`, a block as BRECQ reconstructs them (Li et al. 2021,
 * "BRECQ: Pushing the Limit of Post-Training Quantization by Block Reconstruction", ICLR, §3.2): the
 * nodes between two single-tensor cuts of the graph, a cut being a tensor that every later node
 * reaches the inputs through (a residual block's input and output). A stretch between cuts without a
 * layer (a pooling, a Flatten) joins the block before it, so that each block starts with a layer.
 */
import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { isStandard } from '../ir/node.js';
import type { QuantPlan } from '../plan/plan.js';
import { backwardRule } from '../train/rules.js';

export interface Unit {
  /** The unit's nodes, in graph order. */
  nodes: NodeProto[];
  /** The one non-constant tensor the unit reads. */
  input: string;
  /** Where the quantized (QDQ) model holds that input before its quantization: a folded Relu's input. */
  fetch: string;
  /** A Relu/Clip folded into the input's range, applied again to the fetched values. */
  fold?: NodeProto;
  /** The tensor the unit's reconstruction compares with the float model's. */
  output: string;
  /** The quantized weights whose rounding is learned, in graph order. */
  weights: string[];
}

const LAYER_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
/** Activations that join their layer when they alone read its output. */
const ACTIVATIONS = new Set(['Relu', 'Clip', 'LeakyRelu', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'Tanh']);

/** The weight whose rounding can be learned at this node, if any (quantized, an initializer of its own). */
export function learnableWeight(graph: Graph, plan: QuantPlan, node: NodeProto): string | undefined {
  if (!LAYER_OPS.has(node.opType) || !isStandard(node)) return undefined;
  const w = node.input[1];
  const e = w ? plan.weights[w] : undefined;
  if (!w || !e?.params || e.params.state === 'float' || !graph.initializer(w) || graph.isGraphInput(w)) return undefined;
  return graph.consumers(w).length === 1 ? w : undefined;
}

/** One unit per layer with a learnable weight, in graph order. */
export function layerUnits(graph: Graph, plan: QuantPlan): Unit[] {
  const units: Unit[] = [];
  for (const node of graph.nodes) {
    const weight = learnableWeight(graph, plan, node);
    if (!weight) continue;
    const nodes = [node];
    const y = node.output[0]!;
    const readers = graph.consumers(y);
    const act = readers.length === 1 && !graph.isGraphOutput(y) ? readers[0]! : undefined;
    if (act && ACTIVATIONS.has(act.opType) && isStandard(act) && act.input[0] === y) nodes.push(act);
    units.push(withInput(graph, plan, { nodes, input: node.input[0]!, output: nodes.at(-1)!.output[0]!, weights: [weight] }));
  }
  return units;
}

/**
 * Blocks between single-tensor cuts; a block with an op the gradient engine cannot differentiate is
 * reconstructed layer by layer instead (`split` names it).
 */
export function blockUnits(graph: Graph, plan: QuantPlan): { units: Unit[]; split: NodeProto[] } {
  const nodes = graph.nodes;
  const constant = (name: string) => !name || !!graph.constant(name);
  // Index of the last node reading each value; graph outputs stay live to the end.
  const lastRead = new Map<string, number>();
  nodes.forEach((n, i) => n.input.forEach((x) => !constant(x) && lastRead.set(x, i)));
  for (const o of graph.outputs) lastRead.set(o.name, Infinity);
  const live = new Set(graph.inputs.map((v) => v.name).filter((v) => lastRead.has(v)));
  const segments: { input: string; nodes: NodeProto[]; output: string }[] = [];
  let cut = live.size === 1 ? [...live][0] : undefined;
  let current: NodeProto[] = [];
  nodes.forEach((n, i) => {
    current.push(n);
    for (const o of n.output) if (o && lastRead.has(o)) live.add(o);
    for (const x of n.input) if (lastRead.get(x) === i) live.delete(x);
    if (live.size !== 1) return;
    const output = [...live][0]!;
    if (cut !== undefined && output !== cut) segments.push({ input: cut, nodes: current, output });
    cut = output;
    current = [];
  });

  const units: Unit[] = [];
  const split: NodeProto[] = [];
  let open: { input: string; nodes: NodeProto[]; output: string } | undefined;
  const close = () => {
    if (!open) return;
    const weights = open.nodes.flatMap((n) => learnableWeight(graph, plan, n) ?? []);
    const blocked = open.nodes.find((n) => !backwardRule(n));
    if (blocked) {
      split.push(blocked);
      const inBlock = new Set(open.nodes);
      units.push(...layerUnits(graph, plan).filter((u) => inBlock.has(u.nodes[0]!)));
    } else units.push(withInput(graph, plan, { nodes: open.nodes, input: open.input, output: open.output, weights }));
    open = undefined;
  };
  for (const s of segments) {
    const hasLayer = s.nodes.some((n) => learnableWeight(graph, plan, n));
    if (hasLayer) {
      close();
      open = { ...s };
    } else if (open) open = { input: open.input, nodes: [...open.nodes, ...s.nodes], output: s.output };
  }
  close();
  return { units, split };
}

/** Where the input is fetched: a Relu/Clip folded into the input's range is gone from the QDQ model, so its input is fetched and the fold applied again. */
function withInput(graph: Graph, plan: QuantPlan, u: Omit<Unit, 'fetch' | 'fold'>): Unit {
  const fold = plan.folded.find((f) => f.output === u.input);
  const foldNode = fold ? graph.node(fold.node) : undefined;
  return foldNode ? { ...u, fetch: fold!.input, fold: foldNode } : { ...u, fetch: u.input };
}

/**
 * Builds a QuantPlan for a prepared graph: walks the nodes in order, applies the target's rule for
 * each op, folds Relu/Clip into their producer's range where the target allows it, and lists what
 * stays float and why.
 */
import type { NodeProto } from 'onnx-buf';
import type { RangeMethodName } from '../calibrate/observer.js';
import { DT } from '../onnx/dtype.js';
import { readFloat32, tensorDims } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import { attrFloat, getAttr, isStandard } from '../ir/node.js';
import { selectorWarnings } from '../ir/select.js';
import type { ValueType } from '../ir/types.js';
import { fail } from '../errors.js';
import type { QuantType } from '../quant/spec.js';
import { PLAN_FORMAT, type ActivationEntry, type QuantPlan, type TargetName, type WeightMethodName } from './plan.js';
import { getTarget } from './targets.js';
import type { OpRule } from './rules.js';

export interface PlanOptions {
  target?: TargetName;
  /** Calibration method for activation ranges (default minmax). */
  method?: RangeMethodName;
  weightMethod?: WeightMethodName;
  activationType?: QuantType;
  weightType?: QuantType;
  /** Symmetric activations (zero point at the middle of the range). */
  symmetric?: boolean;
  /** Asymmetric weights (symmetric by default). */
  weightAsymmetric?: boolean;
  perChannel?: boolean;
  /**
   * 7-bit weights (−64…64), as ORT's reduce_range: on x86 CPUs without VNNI, u8×s8 kernels add pairs
   * of products in 16 bits, which 255·127·2 overflows and 255·64·2 does not. Activations keep their
   * 8 bits (QuantizeLinear clamps at the full range anyway).
   */
  reduceRange?: boolean;
  /** Node names or op types to leave in float. */
  exclude?: string[];
  /** Quantize only these op types. */
  opTypes?: string[];
}

export interface PlanResult {
  plan: QuantPlan;
  warnings: string[];
}

/** Plan options as a key: two sets of options give the same plan when their keys are equal. */
export function planKey(o: PlanOptions): string {
  const keys: (keyof PlanOptions)[] = ['target', 'method', 'weightMethod', 'activationType', 'weightType', 'symmetric', 'weightAsymmetric', 'perChannel', 'reduceRange', 'exclude', 'opTypes'];
  return JSON.stringify(keys.map((k) => o[k] ?? null));
}

export function buildPlan(graph: Graph, types: Map<string, ValueType>, options: PlanOptions = {}): PlanResult {
  const target = getTarget(options.target ?? 'ort-qdq');
  const warnings: string[] = [];
  const activationType = options.activationType ?? target.defaultActivationType;
  const weightType = options.weightType ?? 'int8';
  if (!target.activationTypes.includes(activationType))
    fail('BAD_OPTION', `target ${target.name} takes activations of type ${target.activationTypes.join(' or ')}, not ${activationType}.`);
  if (!target.weightTypes.includes(weightType))
    fail('BAD_OPTION', `target ${target.name} takes weights of type ${target.weightTypes.join(' or ')}, not ${weightType}.`);
  if (target.symmetricOnly && options.weightAsymmetric)
    fail('BAD_OPTION', `target ${target.name} needs symmetric weights (zero point 0); drop --weight-asymmetric.`);
  const symmetric = target.symmetricOnly || !!options.symmetric;
  const perChannel = options.perChannel ?? true;
  const method = options.method ?? 'minmax';
  const exclude = new Set(options.exclude ?? []);
  const opTypes = options.opTypes ? new Set(options.opTypes) : undefined;

  const plan: QuantPlan = {
    format: PLAN_FORMAT,
    target: target.name,
    activations: {},
    weights: {},
    biases: {},
    folded: [],
    float: [],
    subgraphs: [],
  };
  const isFloat = (name: string) => {
    const c = graph.constant(name);
    if (c) return c.dataType === DT.FLOAT;
    return types.get(name)?.dtype === DT.FLOAT;
  };
  const activation = (): ActivationEntry => ({ dtype: activationType, symmetric, method });
  const addActivation = (name: string, node: NodeProto, input: number) => {
    const c = graph.constant(name);
    if (c) {
      // A constant operand of Add/Mul/Concat is quantized once, like an activation with a fixed range.
      plan.weights[name] ??= { dtype: activationType, symmetric, method: 'minmax' };
      return;
    }
    const entry = (plan.activations[name] ??= activation());
    if (target.dedicatedPairs) (entry.at ??= []).push({ node: node.name, input });
  };

  const candidates: Candidate[] = [];
  for (const node of graph.nodes) {
    const subgraphs = node.attribute.filter((a) => a.g || a.graphs.length);
    if (subgraphs.length) {
      const count = subgraphs.reduce((n, a) => n + (a.g ? a.g.node.length : 0) + a.graphs.reduce((m, g) => m + g.node.length, 0), 0);
      plan.subgraphs.push({ node: node.name, op: node.opType, nodes: count });
    }
    const rule = isStandard(node) ? target.rules[node.opType] : undefined;
    const touchesFloat = node.output.some((o) => o && isFloat(o));
    const excluded = exclude.has(node.name) || exclude.has(node.opType);
    if (!rule) {
      if (touchesFloat && node.opType !== 'Constant') plan.float.push({ node: node.name, op: node.opType, reason: 'no quantization rule' });
      continue;
    }
    if (excluded) {
      plan.float.push({ node: node.name, op: node.opType, reason: 'excluded' });
      continue;
    }
    if (opTypes && !opTypes.has(node.opType)) {
      plan.float.push({ node: node.name, op: node.opType, reason: 'not in --op-types' });
      continue;
    }
    if (rule.foldable) continue; // handled below, once producers are planned
    if (!touchesFloat) continue;
    // Moving values out of a constant (Gather on an embedding table) is a weight-only matter.
    if (rule.output === 'same-as-input' && graph.constant(node.input[0]!)) {
      const reason = node.opType === 'Gather' ? 'an embedding table; weight-only mode quantizes those' : 'moves values of a constant, which stay float';
      plan.float.push({ node: node.name, op: node.opType, reason });
      continue;
    }
    const inputs = activationInputs(graph, node, rule, (p) => !!target.rules[p.opType]?.weight && !exclude.has(p.name) && !exclude.has(p.opType) && (!opTypes || opTypes.has(p.opType)));
    if (typeof inputs === 'string') plan.float.push({ node: node.name, op: node.opType, reason: inputs });
    else candidates.push({ node, rule, inputs });
  }

  const apply = (node: NodeProto, rule: OpRule, inputs: readonly number[]) => {
    const weightInput = rule.weight?.input;
    const weightName = weightInput !== undefined ? node.input[weightInput] : undefined;
    const weight = weightName ? graph.constant(weightName) : undefined;
    const indices = [...inputs];
    // A weight that is computed at run time (attention's Q·Kᵀ) is an activation like any other.
    if (weightInput !== undefined && weightName && !weight) indices.push(weightInput);
    for (const i of indices) {
      const name = node.input[i];
      if (name && isFloat(name)) addActivation(name, node, i);
    }
    if (weight && weight.dataType === DT.FLOAT && weightName) {
      const rank = weight.dims.length;
      const axis = perChannel ? rule.weight!.axis(node, rank) : undefined;
      const dims = tensorDims(weight);
      plan.weights[weightName] ??= {
        dtype: weightType,
        symmetric: target.symmetricOnly || !options.weightAsymmetric,
        ...(options.reduceRange ? { reduceRange: true } : {}),
        ...(axis !== undefined && dims[axis]! > 1 ? { axis } : {}),
        method: options.weightMethod ?? 'minmax',
      };
      const biasName = rule.bias ? node.input[rule.bias.input] : undefined;
      const bias = biasName ? graph.constant(biasName) : undefined;
      if (biasName && bias && bias.dataType === DT.FLOAT && bias.dims.length === 1 && node.input[0] && plan.activations[node.input[0]])
        plan.biases[biasName] = {
          node: node.name,
          input: node.input[0],
          weight: weightName,
          ...(node.opType === 'Gemm' && attrFloat(node, 'beta', 1) !== 1 ? { beta: attrFloat(node, 'beta', 1) } : {}),
        };
    }
    const out = rule.output;
    for (const o of node.output) {
      if (!o || !isFloat(o) || out === 'none') continue;
      // ORT runs Gemm/MatMul with quantized inputs and a float output (QGemm, MatMulIntegerToFloat): an
      // output no quantized op reads (a classifier's logits, a float Softmax's input) then stays exact
      // at no cost in speed. A Relu/Clip that will fold into this output's range (below), before a
      // quantized reader, counts as that reader.
      const readByQuantized = (t: string) =>
        accepted.readers.has(t) ||
        (target.foldsActivations && !symmetric && graph.consumers(t).some((n) => foldable(graph, n, exclude) && accepted.readers.has(n.output[0]!)));
      if (out === 'own' && (node.opType === 'Gemm' || node.opType === 'MatMul') && !readByQuantized(o)) continue;
      if (out === 'own') plan.activations[o] ??= activation();
      else if (out === 'same-as-input') plan.activations[o] ??= { ...activation(), method: undefined, sameAs: node.input[0]! };
      else plan.activations[o] ??= { ...activation(), method: undefined, range: out.fixed };
    }
  };

  const accepted = acceptFollowers(graph, candidates, isFloat);
  for (const c of candidates) {
    if (accepted.nodes.has(c.node)) apply(c.node, c.rule, c.inputs);
    else plan.float.push({ node: c.node.name, op: c.node.opType, reason: 'between float ops; nothing to gain' });
  }

  for (const entry of Object.values(plan.activations)) {
    if (entry.method === undefined) delete entry.method;
    if (entry.sameAs && !plan.activations[entry.sameAs]) {
      // The input was not quantized (e.g. a constant): the output gets a range of its own.
      delete entry.sameAs;
      entry.method = method;
    }
  }
  if (target.foldsActivations && !symmetric) foldActivations(graph, plan, exclude);
  const folded = new Set(plan.folded.map((f) => f.node));
  for (const node of graph.nodes)
    if (target.rules[node.opType]?.foldable && !folded.has(node.name) && !exclude.has(node.name) && !exclude.has(node.opType))
      plan.float.push({ node: node.name, op: node.opType, reason: 'not foldable here; runs in float' });
  warnings.push(...selectorWarnings(graph.proto, options, false)); // static quantization covers the top-level graph
  return { plan, warnings };
}

/** A node with a rule, and the inputs that rule quantizes as activations. */
interface Candidate {
  node: NodeProto;
  rule: OpRule;
  inputs: number[];
}

/**
 * The inputs a rule quantizes as activations, or why the node stays float. `quantizedLayer` tells
 * whether a producer is a weighted layer that will be quantized (for 'residual').
 */
function activationInputs(graph: Graph, node: NodeProto, rule: OpRule, quantizedLayer: (producer: NodeProto) => boolean): number[] | string {
  if (rule.activations === 'all') return node.input.map((_, i) => i);
  if (rule.activations !== 'residual') return [...rule.activations];
  if (node.input.some((i) => graph.constant(i))) return 'adds a constant; stays float';
  // TensorRT fuses the Add into a layer whose output nothing else reads.
  const weighted = node.input.map((i) => {
    const p = graph.producer(i);
    return !!p && quantizedLayer(p) && graph.consumers(i).length === 1;
  });
  if (!weighted.some(Boolean)) return 'not a residual Add: no input comes straight from a quantized Conv, ConvTranspose, Gemm or MatMul';
  return [weighted[0] && weighted[1] ? 1 : weighted.indexOf(false)];
}

/**
 * Which candidates to quantize. Anchors (ops whose rule does not `followsQuantized`: Conv, Gemm,
 * MatMul …) always are. A follower (Add, Mul, Sigmoid, Reshape …) is worth it only when one of its
 * inputs is quantized by another op and its output is read as a quantized input by another op: then
 * it runs as an integer kernel between integer kernels. Otherwise its output would be requantized
 * only to be dequantized for a float op next — error for no gain (PaddleOCR's hard-swish, x·relu6(x+3)
 * before a float Div, loses a third of its text lines that way). The greatest set of followers that
 * satisfies this is found by dropping the ones that do not until none is left to drop.
 */
function acceptFollowers(graph: Graph, candidates: readonly Candidate[], isFloat: (n: string) => boolean): { nodes: Set<NodeProto>; readers: Set<string> } {
  const ins = new Map<NodeProto, string[]>();
  const outs = new Map<NodeProto, string[]>();
  const rules = new Map(candidates.map((c) => [c.node, c.rule]));
  for (const { node, rule, inputs } of candidates) {
    const indices = [...inputs];
    if (rule.weight) indices.push(rule.weight.input); // a computed weight is an activation input
    ins.set(node, indices.map((i) => node.input[i]).filter((n): n is string => !!n && isFloat(n) && !graph.constant(n)));
    outs.set(node, rule.output === 'none' ? [] : node.output.filter((o) => !!o && isFloat(o)));
  }
  let accepted = new Set(candidates.map((c) => c.node));
  for (;;) {
    const readers = new Map<string, Set<NodeProto>>();
    const writers = new Map<string, Set<NodeProto>>();
    const add = (m: Map<string, Set<NodeProto>>, t: string, n: NodeProto) => (m.get(t) ?? m.set(t, new Set()).get(t)!).add(n);
    for (const n of accepted) {
      for (const t of ins.get(n)!) add(readers, t, n);
      for (const t of outs.get(n)!) add(writers, t, n);
    }
    const byOthers = (m: Map<string, Set<NodeProto>>, t: string, self: NodeProto) => [...(m.get(t) ?? [])].some((o) => o !== self);
    const keep = new Set(
      [...accepted].filter((n) => {
        if (!rules.get(n)!.followsQuantized) return true;
        const inputQuantized = ins.get(n)!.some((t) => byOthers(readers, t, n) || byOthers(writers, t, n));
        const outputRead = outs.get(n)!.some((t) => byOthers(readers, t, n));
        return inputQuantized && outputRead;
      }),
    );
    if (keep.size === accepted.size) return { nodes: accepted, readers: new Set(readers.keys()) };
    accepted = keep;
  }
}

/**
 * Relu, and Clip with a lower bound of 0, directly after a quantized op: quantize the
 * Relu's output instead of its input and remove the Relu. With an asymmetric range whose zero point
 * sits at qmin, QuantizeLinear itself clamps at 0, so the removal is exact (checked again at export).
 */
function foldActivations(graph: Graph, plan: QuantPlan, exclude: Set<string>): void {
  for (const node of graph.nodes) {
    if (!foldable(graph, node, exclude)) continue;
    const c = node.input[0]!;
    const r = node.output[0]!;
    const entry = plan.activations[c];
    const existing = plan.activations[r];
    // r may already be planned as the next op's input: fine, as long as it is an ordinary calibrated range.
    if (!entry || !entry.method || entry.at || (existing && (!existing.method || existing.at))) continue;
    if (Object.values(plan.activations).some((e) => e.sameAs === c)) continue;
    delete plan.activations[c];
    plan.activations[r] = entry;
    plan.folded.push({ node: node.name, op: node.opType, input: c, output: r });
  }
}

/**
 * A Relu or Clip(0, …) that can fold into its input's range, as far as the graph goes: not excluded,
 * the only reader of an ordinary intermediate (the plan must also give that input a calibrated range).
 */
function foldable(graph: Graph, node: NodeProto, exclude: ReadonlySet<string>): boolean {
  if ((node.opType !== 'Relu' && node.opType !== 'Clip') || !isStandard(node)) return false;
  if (exclude.has(node.name) || exclude.has(node.opType) || !node.output[0]) return false;
  const c = node.input[0]!;
  if (graph.consumers(c).length !== 1 || graph.isGraphOutput(c) || graph.isGraphInput(c)) return false;
  return node.opType === 'Relu' || clipLowerBoundZero(graph, node);
}

/** Clip(0, …): a zero point at qmin clamps at exactly 0; any other lower bound needs the Clip. */
function clipLowerBoundZero(graph: Graph, node: NodeProto): boolean {
  if (getAttr(node, 'min')) return attrFloat(node, 'min', 0) === 0;
  const minName = node.input[1];
  if (!minName) return false;
  const t = graph.constant(minName);
  return !!t && t.dataType === DT.FLOAT && readFloat32(t)[0] === 0;
}

/**
 * Builds a QuantPlan for a prepared graph: walks the nodes in order and finds, by the target's rule
 * for each op, the ones worth quantizing (followers.ts decides for ops that only follow their
 * neighbours), plans their activations, weights, biases and outputs, folds Relu/Clip into their
 * producer's range where the target allows it (fold.ts), and lists what stays float and why.
 */
import type { NodeProto } from 'onnx-buf';
import type { RangeMethodName } from '../calibrate/observer.js';
import { DT } from '../onnx/dtype.js';
import { tensorDims } from '../onnx/tensor.js';
import type { Graph } from '../ir/graph.js';
import { attrFloat, hasSubgraphs, isStandard } from '../ir/node.js';
import { selectorWarnings } from '../ir/select.js';
import type { ValueType } from '../ir/types.js';
import { fail } from '../errors.js';
import { bitsOf, isSigned, type QuantType } from '../quant/spec.js';
import { acceptFollowers, type Accepted, type Candidate } from './followers.js';
import { foldable, foldActivations } from './fold.js';
import { PLAN_FORMAT, type ActivationEntry, type QuantPlan, type TargetName, type WeightMethodName } from './plan.js';
import { getTarget, type Target } from './targets.js';
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
  /**
   * Bits of the weights (2–8, default 8) and of the activations (4–16, default 8). Each picks the
   * smallest type that holds them (int4/uint4 up to 4 bits, 8-bit, 16-bit); fewer bits than the type
   * stores keep to the narrower range inside it (3-bit weights: int4 storage, −3…3).
   */
  weightBits?: number;
  activationBits?: number;
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
  const keys: (keyof PlanOptions)[] = ['target', 'method', 'weightMethod', 'activationType', 'weightType', 'weightBits', 'activationBits', 'symmetric', 'weightAsymmetric', 'perChannel', 'reduceRange', 'exclude', 'opTypes'];
  return JSON.stringify(keys.map((k) => o[k] ?? null));
}

export function buildPlan(graph: Graph, types: Map<string, ValueType>, options: PlanOptions = {}): PlanResult {
  const planner = new Planner(graph, types, options);
  const candidates = planner.candidates();
  const accepted = acceptFollowers(candidates, (n) => planner.isFloat(n) && !graph.constant(n), (n) => planner.isFloat(n));
  for (const c of candidates) {
    if (accepted.nodes.has(c.node)) planner.apply(c, accepted);
    else planner.float(c.node, 'between float ops; nothing to gain');
  }
  planner.settleSharedRanges();
  planner.fold();
  planner.refuseMaxPoolAtFourBits();
  return { plan: planner.plan, warnings: selectorWarnings(graph.proto, options, false) }; // static quantization covers the top-level graph
}

/** What planning one graph shares: the graph, its value types, the target and the resolved options. */
class Planner {
  readonly plan: QuantPlan;
  private readonly target: Target;
  private readonly activationType: QuantType;
  private readonly weightType: QuantType;
  /** Bits inside the types, where fewer than they store. */
  private readonly activationBits?: number;
  private readonly weightBits?: number;
  private readonly symmetric: boolean;
  private readonly method: RangeMethodName;
  private readonly exclude: Set<string>;
  private readonly opTypes?: Set<string>;

  constructor(
    private readonly graph: Graph,
    private readonly types: Map<string, ValueType>,
    private readonly options: PlanOptions,
  ) {
    const target = (this.target = getTarget(options.target ?? 'ort-qdq'));
    const widths = bitWidths(options, target);
    this.activationType = widths.activationType;
    this.weightType = widths.weightType;
    this.activationBits = widths.activationBits;
    this.weightBits = widths.weightBits;
    if (target.symmetricOnly && options.weightAsymmetric)
      fail('BAD_OPTION', `target ${target.name} needs symmetric weights (zero point 0); drop --weight-asymmetric.`);
    this.symmetric = target.symmetricOnly || !!options.symmetric;
    this.method = options.method ?? 'minmax';
    this.exclude = new Set(options.exclude ?? []);
    this.opTypes = options.opTypes ? new Set(options.opTypes) : undefined;
    this.plan = { format: PLAN_FORMAT, target: target.name, activations: {}, weights: {}, biases: {}, folded: [], float: [], subgraphs: [] };
  }

  isFloat(name: string): boolean {
    const c = this.graph.constant(name);
    if (c) return c.dataType === DT.FLOAT;
    return this.types.get(name)?.dtype === DT.FLOAT;
  }

  float(node: NodeProto, reason: string): void {
    this.plan.float.push({ node: node.name, op: node.opType, reason });
  }

  private excluded(node: NodeProto): boolean {
    return this.exclude.has(node.name) || this.exclude.has(node.opType);
  }

  /** The nodes a rule could quantize, in order; every other node that touches floats is listed float with its reason. */
  candidates(): Candidate[] {
    const { graph, target, plan } = this;
    const out: Candidate[] = [];
    const quantizedLayer = (p: NodeProto) => !!target.rules[p.opType]?.weight && !this.excluded(p) && (!this.opTypes || this.opTypes.has(p.opType));
    for (const node of graph.nodes) {
      if (hasSubgraphs(node)) {
        const count = node.attribute.reduce((n, a) => n + (a.g ? a.g.node.length : 0) + a.graphs.reduce((m, g) => m + g.node.length, 0), 0);
        plan.subgraphs.push({ node: node.name, op: node.opType, nodes: count });
      }
      const rule = isStandard(node) ? target.rules[node.opType] : undefined;
      const touchesFloat = node.output.some((o) => o && this.isFloat(o));
      if (!rule) {
        if (touchesFloat && node.opType !== 'Constant') this.float(node, 'no quantization rule');
        continue;
      }
      if (this.excluded(node)) {
        this.float(node, 'excluded');
        continue;
      }
      if (this.opTypes && !this.opTypes.has(node.opType)) {
        this.float(node, 'not in --op-types');
        continue;
      }
      if (rule.foldable || !touchesFloat) continue; // folds are planned once their producers are
      // Moving values out of a constant (Gather on an embedding table) is a weight-only matter.
      if (rule.output === 'same-as-input' && graph.constant(node.input[0]!)) {
        this.float(node, node.opType === 'Gather' ? 'an embedding table; weight-only mode quantizes those' : 'moves values of a constant, which stay float');
        continue;
      }
      const inputs = activationInputs(graph, node, rule, quantizedLayer);
      if (typeof inputs === 'string') this.float(node, inputs);
      else out.push({ node, rule, inputs });
    }
    return out;
  }

  /** Plans one accepted node: its activation inputs, its weight and bias, its outputs. */
  apply({ node, rule, inputs }: Candidate, accepted: Accepted): void {
    const weightInput = rule.weight?.input;
    const weightName = weightInput !== undefined ? node.input[weightInput] : undefined;
    const weight = weightName ? this.graph.constant(weightName) : undefined;
    const indices = [...inputs];
    // A weight that is computed at run time (attention's Q·Kᵀ) is an activation like any other.
    if (weightInput !== undefined && weightName && !weight) indices.push(weightInput);
    for (const i of indices) {
      const name = node.input[i];
      if (name && this.isFloat(name)) this.addActivation(name, node, i);
    }
    if (weight && weight.dataType === DT.FLOAT && weightName) {
      this.addWeight(node, rule, weightName, tensorDims(weight));
      this.addBias(node, rule, weightName);
    }
    this.addOutputs(node, rule, accepted);
  }

  private activation(): ActivationEntry {
    return { dtype: this.activationType, symmetric: this.symmetric, ...(this.activationBits ? { bits: this.activationBits } : {}), method: this.method };
  }

  private addActivation(name: string, node: NodeProto, input: number): void {
    if (this.graph.constant(name)) {
      // A constant operand of Add/Mul/Concat is quantized once, like an activation with a fixed range.
      this.plan.weights[name] ??= { dtype: this.activationType, symmetric: this.symmetric, ...(this.activationBits ? { bits: this.activationBits } : {}), method: 'minmax' };
      return;
    }
    const entry = (this.plan.activations[name] ??= this.activation());
    if (this.target.dedicatedPairs) (entry.at ??= []).push({ node: node.name, input });
  }

  private addWeight(node: NodeProto, rule: OpRule, name: string, dims: number[]): void {
    const { options, target } = this;
    const axis = (options.perChannel ?? true) ? rule.weight!.axis(node, dims.length) : undefined;
    this.plan.weights[name] ??= {
      dtype: this.weightType,
      symmetric: target.symmetricOnly || !options.weightAsymmetric,
      ...(this.weightBits ? { bits: this.weightBits } : {}),
      ...(options.reduceRange ? { reduceRange: true } : {}),
      ...(axis !== undefined && dims[axis]! > 1 ? { axis } : {}),
      method: options.weightMethod ?? 'minmax',
    };
  }

  /** A constant 1-D bias of a layer whose input is quantized: stored as int32 with scale s_input·s_weight. */
  private addBias(node: NodeProto, rule: OpRule, weight: string): void {
    const name = rule.bias ? node.input[rule.bias.input] : undefined;
    const bias = name ? this.graph.constant(name) : undefined;
    if (!name || !bias || bias.dataType !== DT.FLOAT || bias.dims.length !== 1 || !node.input[0] || !this.plan.activations[node.input[0]]) return;
    const beta = node.opType === 'Gemm' ? attrFloat(node, 'beta', 1) : 1;
    this.plan.biases[name] = { node: node.name, input: node.input[0], weight, ...(beta !== 1 ? { beta } : {}) };
  }

  private addOutputs(node: NodeProto, rule: OpRule, accepted: Accepted): void {
    const out = rule.output;
    const folds = this.target.foldsActivations && !this.symmetric;
    // ORT runs Gemm/MatMul with quantized inputs and a float output (QGemm, MatMulIntegerToFloat): an
    // output no quantized op reads (a classifier's logits, a float Softmax's input) then stays exact
    // at no cost in speed. A Relu/Clip that will fold into this output's range, before a quantized
    // reader, counts as that reader.
    const readByQuantized = (t: string) =>
      accepted.readers.has(t) || (folds && this.graph.consumers(t).some((n) => foldable(this.graph, n, this.exclude) && accepted.readers.has(n.output[0]!)));
    for (const o of node.output) {
      if (!o || !this.isFloat(o) || out === 'none') continue;
      if (out === 'own' && (node.opType === 'Gemm' || node.opType === 'MatMul') && !readByQuantized(o)) continue;
      if (out === 'own') this.plan.activations[o] ??= this.activation();
      else if (out === 'same-as-input') this.plan.activations[o] ??= { ...this.activation(), method: undefined, sameAs: node.input[0]! };
      else this.plan.activations[o] ??= { ...this.activation(), method: undefined, range: out.fixed };
    }
  }

  /** An output that shares the range of an input nothing quantizes (a constant) gets a range of its own. */
  settleSharedRanges(): void {
    for (const entry of Object.values(this.plan.activations)) {
      if (entry.method === undefined) delete entry.method;
      if (entry.sameAs && !this.plan.activations[entry.sameAs]) {
        delete entry.sameAs;
        entry.method = this.method;
      }
    }
  }

  /** Folds Relu/Clip where the target allows it, and lists those that stay. */
  /**
   * onnxruntime 1.30 runs a DQ → MaxPool → Q group on the integers, also on uint4/int4, for which
   * MaxPool has no kernel: the session refuses the model (other ops that move values load fine, checked
   * one by one). 4-bit activations held in 8-bit types (the default for --activation-bits 4) do not meet this.
   */
  refuseMaxPoolAtFourBits(): void {
    if (bitsOf(this.activationType) !== 4) return;
    const quantized = (t: string | undefined) => !!t && !!this.plan.activations[t];
    const pool = this.graph.nodes.find((n) => isStandard(n) && n.opType === 'MaxPool' && (quantized(n.input[0]) || quantized(n.output[0])));
    if (pool)
      fail('BAD_OPTION', `--activation-type ${this.activationType}: onnxruntime cannot run MaxPool '${pool.name}' next to ${this.activationType} activations (it moves the Q/DQ pair across the pool to run it on the integers and has no 4-bit kernel). Drop --activation-type: 4-bit activations are then held in ${isSigned(this.activationType) ? 'int8' : 'uint8'}, with the same 4-bit steps over the calibrated range.`);
  }

  fold(): void {
    const { graph, plan, target, exclude } = this;
    if (target.foldsActivations && !this.symmetric) foldActivations(graph, plan, exclude);
    const folded = new Set(plan.folded.map((f) => f.node));
    for (const node of graph.nodes)
      if (target.rules[node.opType]?.foldable && !folded.has(node.name) && !this.excluded(node)) this.float(node, 'not foldable here; runs in float');
  }
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
 * The types and narrower widths the bit options ask for: each width goes in the smallest type that
 * holds it, of the signedness the target's default (activations) or int (weights) has; a type given
 * as well must hold the width. TensorRT runs 8-bit activations and 8-bit weights, and 4-bit weights
 * only in Gemm/MatMul (its weight-only INT4 path).
 */
function bitWidths(options: PlanOptions, target: Target): { activationType: QuantType; weightType: QuantType; activationBits?: number; weightBits?: number } {
  const { weightBits, activationBits } = options;
  if (weightBits !== undefined && !(Number.isInteger(weightBits) && weightBits >= 2 && weightBits <= 8))
    fail('BAD_OPTION', `--weight-bits takes 2 to 8, not ${weightBits}.`);
  if (activationBits !== undefined && !(Number.isInteger(activationBits) && activationBits >= 4 && activationBits <= 16))
    fail('BAD_OPTION', `--activation-bits takes 4 to 16, not ${activationBits}.`);
  const holding = (bits: number, signed: boolean): QuantType => (bits <= 4 ? (signed ? 'int4' : 'uint4') : bits <= 8 ? (signed ? 'int8' : 'uint8') : signed ? 'int16' : 'uint16');
  const defaultSigned = isSigned(target.defaultActivationType);
  // 4-bit weights are stored in 4 bits (the model gets smaller); 4-bit activations are held in 8 bits: they
  // are never stored, onnxruntime's 8-bit kernels run them, and it cannot run MaxPool on uint4.
  const activationType = options.activationType ?? (activationBits ? holding(Math.max(activationBits, 8), defaultSigned) : target.defaultActivationType);
  const weightType = options.weightType ?? (weightBits ? holding(weightBits, true) : 'int8');
  for (const [flag, bits, type] of [['--activation-bits', activationBits, activationType], ['--weight-bits', weightBits, weightType]] as const)
    if (bits !== undefined && bits > bitsOf(type)) fail('BAD_OPTION', `${flag} ${bits} does not fit in ${type}; drop the type option or give a wider type.`);
  if (target.name === 'tensorrt') {
    if (bitsOf(activationType) !== 8 || (activationBits ?? 8) !== 8)
      fail('BAD_OPTION', `target tensorrt runs int8 activations only, not ${activationBits ?? bitsOf(activationType)}-bit ones; use --target ort-qdq for other widths.`);
    const wb = weightBits ?? bitsOf(weightType);
    if (wb === 4 && bitsOf(weightType) === 4) {
      const ops = options.opTypes ?? [];
      if (!ops.length || ops.some((o) => o !== 'MatMul' && o !== 'Gemm'))
        fail('BAD_OPTION', 'target tensorrt runs 4-bit weights only in Gemm and MatMul (its weight-only INT4 path), not in Conv: add --op-types MatMul,Gemm, or keep 8-bit weights.');
    } else if (wb !== 8) fail('BAD_OPTION', `target tensorrt runs 8-bit weights (and 4-bit ones in Gemm/MatMul), not ${wb}-bit ones; use --target ort-qdq to simulate other widths.`);
  }
  if (!target.activationTypes.includes(activationType))
    fail('BAD_OPTION', `target ${target.name} takes activations of type ${target.activationTypes.join(' or ')}, not ${activationType}.`);
  if (!target.weightTypes.includes(weightType))
    fail('BAD_OPTION', `target ${target.name} takes weights of type ${target.weightTypes.join(' or ')}, not ${weightType}.`);
  const narrower = (bits: number | undefined, type: QuantType) => (bits !== undefined && bits < bitsOf(type) ? bits : undefined);
  return { activationType, weightType, activationBits: narrower(activationBits, activationType), weightBits: narrower(weightBits, weightType) };
}

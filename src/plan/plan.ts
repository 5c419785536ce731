/**
 * QuantPlan: for every tensor that gets quantized, how — and, once resolved, with which parameters.
 * It is the one structure every stage after planning writes into (calibration ranges, searches such
 * as EasyQuant or mixed precision, training) and every exporter reads. Plain JSON, so that a user can
 * save it (`--save-plan`), read it, edit it and feed it back (`--plan`).
 */
import type { RangeMethodName } from '../calibrate/observer.js';
import type { QuantParams } from '../quant/params.js';
import type { QuantSpec, QuantType } from '../quant/spec.js';

export type TargetName = 'ort-qdq' | 'tensorrt';
export type WeightMethodName = 'minmax' | 'admm';

export const PLAN_FORMAT = 'onnxq-plan/2';

/** Where a tensor's parameters came from. */
export type ParamState =
  /** From calibration statistics (activations) or from the values themselves (weights). */
  | 'calibrated'
  /** Chosen by a search over candidates (ADMM weights, EasyQuant, mixed precision). */
  | 'searched'
  /** Learned (quantization-aware training, AdaRound). */
  | 'trained'
  /** Left in float: the exporters write no quantization for it. */
  | 'float';

/** A tensor's resolved parameters: x ≈ (q − zeroPoint)·scale, one value per tensor or one per channel. */
export interface Resolved {
  scale: number[];
  zeroPoint: number[];
  /** Bits the integers use: the entry's `bits`, else those of the type it is stored in. */
  bits: number;
  state: ParamState;
  /** The clip range the parameters were derived from (activations with a range of their own). */
  min?: number;
  max?: number;
}

export interface ActivationEntry {
  dtype: QuantType;
  symmetric: boolean;
  /** Bits used inside `dtype` when fewer than it stores (--activation-bits). */
  bits?: number;
  reduceRange?: boolean;
  /** Calibration method for a range of its own. */
  method?: RangeMethodName;
  /** Share this tensor's scale and zero point (ops that only move values). */
  sameAs?: string;
  /** A range fixed in advance, e.g. [0, 1] after Softmax. */
  range?: [number, number];
  /** Quantize only where these nodes read the tensor (one Q/DQ pair each); everywhere when absent. */
  at?: { node: string; input: number }[];
  /** Set once resolved; given in a plan file, used as it is. */
  params?: Resolved;
}

export interface WeightEntry {
  dtype: QuantType;
  symmetric: boolean;
  /** Bits used inside `dtype` when fewer than it stores (--weight-bits 3 in int4, 6 in int8). */
  bits?: number;
  reduceRange?: boolean;
  /** Per-channel axis; per-tensor when absent. */
  axis?: number;
  method: WeightMethodName;
  params?: Resolved;
}

export interface BiasEntry {
  /** The node whose bias this is, its activation input and its weight. */
  node: string;
  input: string;
  weight: string;
  /** Gemm's β multiplies the bias; the int32 scale is s_input·s_weight·β. */
  beta?: number;
}

/** A Relu or Clip removed because its producer's quantized range already clips the same way. */
export interface FoldEntry {
  node: string;
  op: string;
  /** The tensor the producer writes (the Relu's input) and the Relu's output, whose range is used. */
  input: string;
  output: string;
}

export interface FloatNode {
  node: string;
  op: string;
  reason: string;
}

export interface QuantPlan {
  format: typeof PLAN_FORMAT;
  target: TargetName;
  activations: Record<string, ActivationEntry>;
  weights: Record<string, WeightEntry>;
  biases: Record<string, BiasEntry>;
  folded: FoldEntry[];
  /** Nodes left in float and why (no rule, excluded, not a float tensor …). Informational. */
  float: FloatNode[];
  /** Subgraphs (If/Loop bodies) are not statically quantized; their nodes are listed here. */
  subgraphs: { node: string; op: string; nodes: number }[];
}

export function activationSpec(e: ActivationEntry): QuantSpec {
  return { dtype: e.dtype, symmetric: e.symmetric, ...(e.reduceRange ? { reduceRange: true } : {}), ...(e.bits ? { bits: e.bits } : {}) };
}

export function weightSpec(e: WeightEntry): QuantSpec {
  return { dtype: e.dtype, symmetric: e.symmetric, ...(e.axis !== undefined ? { axis: e.axis } : {}), ...(e.reduceRange ? { reduceRange: true } : {}), ...(e.bits ? { bits: e.bits } : {}) };
}

/** Whether an entry is quantized in the end (resolved, and not left float). */
export function isQuantized(e: ActivationEntry | WeightEntry): boolean {
  return !!e.params && e.params.state !== 'float';
}

/** Activation names with each `sameAs` target before the tensors that share its parameters. */
export function activationOrder(plan: QuantPlan): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (done.has(name) || visiting.has(name)) return; // a loop of sameAs links is the resolver's to report
    visiting.add(name);
    const root = plan.activations[name]?.sameAs;
    if (root !== undefined) visit(root);
    visiting.delete(name);
    done.add(name);
    order.push(name);
  };
  for (const name of Object.keys(plan.activations)) visit(name);
  return order;
}

/** The typed parameters an exporter writes for a resolved activation. */
export function activationParams(e: ActivationEntry): QuantParams {
  return typed(e.params, activationSpec(e));
}

/** The typed parameters an exporter writes for a resolved weight. */
export function weightParams(e: WeightEntry): QuantParams {
  return typed(e.params, weightSpec(e));
}

function typed(p: Resolved | undefined, spec: QuantSpec): QuantParams {
  if (!p) throw new Error('the plan entry is not resolved'); // exporters run on resolved plans only
  return { scale: Float32Array.from(p.scale), zeroPoint: Int32Array.from(p.zeroPoint), spec };
}

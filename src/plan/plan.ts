/**
 * QuantPlan: for every tensor that gets quantized, how. It is plain JSON so that a user can save it
 * (`--save-plan`), read it, edit it and feed it back (`--plan`).
 */
import type { RangeMethodName } from '../calibrate/observer.js';
import type { QuantType } from '../quant/spec.js';

export type TargetName = 'ort-qdq' | 'tensorrt';
export type WeightMethodName = 'minmax' | 'admm';

export interface ActivationEntry {
  dtype: QuantType;
  symmetric: boolean;
  reduceRange?: boolean;
  /** Calibration method for a range of its own. */
  method?: RangeMethodName;
  /** Share this tensor's scale and zero point (ops that only move values). */
  sameAs?: string;
  /** A range fixed in advance, e.g. [0, 1] after Softmax. */
  range?: [number, number];
  /** Quantize only where these nodes read the tensor (one Q/DQ pair each); everywhere when absent. */
  at?: { node: string; input: number }[];
}

export interface WeightEntry {
  dtype: QuantType;
  symmetric: boolean;
  reduceRange?: boolean;
  /** Per-channel axis; per-tensor when absent. */
  axis?: number;
  method: WeightMethodName;
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
  format: 'onnxq-plan/1';
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

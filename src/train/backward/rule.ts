/**
 * What a backward rule is. Reverse-mode differentiation, one node at a time: given the forward node and
 * the gradient of the loss with respect to each of its outputs (dY), a rule emits ordinary ONNX nodes
 * computing the gradient of each input that needs one. Formulas: any autodiff text; PyTorch's
 * `tools/autograd/derivatives.yaml` lists them per op.
 */
import type { NodeProto } from 'onnx-buf';
import type { Emitter } from '../emit.js';

export interface Backward {
  node: NodeProto;
  /** Per output, the name of the loss's gradient with respect to it, or undefined where none reaches it. */
  dY: (string | undefined)[];
  /** Per input, whether its gradient is wanted (it leads back to a trainable tensor). */
  wants: boolean[];
  em: Emitter;
}

export interface BackwardRule {
  /** The gradient of each input (by index), undefined where not wanted or not differentiable. */
  grad(b: Backward): (string | undefined)[];
  /**
   * Run on the (cloned) forward node before any backward node is emitted, e.g. to expose MaxPool's
   * Indices; may refuse a node whose attributes the rule does not cover (UNSUPPORTED_OP).
   */
  prepare?(node: NodeProto, em: Emitter): void;
}

/** The first output's gradient, which single-output rules need. */
export function dy(b: Backward): string {
  return b.dY[0]!;
}

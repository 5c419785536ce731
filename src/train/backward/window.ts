/**
 * Geometry shared by the sliding-window ops (Conv, AveragePool, MaxPool): strides, dilations and
 * explicit pads (auto_pad resolved from the static shapes as the ONNX spec defines it), and the
 * output_padding a ConvTranspose needs so that the adjoint of the window op gives back exactly the
 * input's spatial size: out = (O − 1)·s + (k − 1)·d + 1 − p_begin − p_end + output_padding.
 */
import type { NodeProto } from 'onnx-buf';
import { attrInts, attrString, describeNode } from '../../ir/node.js';
import { fail } from '../../errors.js';

export interface Window {
  strides: number[];
  dilations: number[];
  /** [begin…, end…], as ONNX writes them. */
  pads: number[];
  /** For the adjoint ConvTranspose: what makes its output the input's spatial size (< stride). */
  outputPadding: number[];
}

/** `input`, `kernel` and `output`: spatial sizes only. */
export function windowOf(node: NodeProto, input: number[], kernel: number[], output: number[]): Window {
  const r = input.length;
  const strides = attrInts(node, 'strides') ?? new Array<number>(r).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(r).fill(1);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  let pads = attrInts(node, 'pads') ?? new Array<number>(2 * r).fill(0);
  if (autoPad === 'VALID') pads = new Array<number>(2 * r).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const total = Math.max(0, (output[i]! - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - input[i]!);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + r] = total - pads[i]!;
    }
  }
  const outputPadding = input.map((n, i) => n - ((output[i]! - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - pads[i]! - pads[i + r]!));
  outputPadding.forEach((p, i) => {
    if (p < 0 || p >= Math.max(strides[i]!, dilations[i]!))
      fail('UNSUPPORTED_OP', `no backward rule for ${describeNode(node)} with these sizes (input ${input}, kernel ${kernel}, output ${output}; ceil_mode?): its window does not tile the input as the floor rule says.`);
  });
  return { strides, dilations, pads, outputPadding };
}

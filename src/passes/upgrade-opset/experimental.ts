/**
 * Replacements for experimental ops of ONNX 1.4 and earlier that older exporters (OnnxMLTools, the
 * Windows ML samples) still wrote, and that no standard opset defines: each becomes standard ops at
 * the node's own opset, which the converter then upgrades like any other node. Semantics as in the
 * ONNX 1.4 operator list and onnxruntime's kernels for them:
 *   Affine(x; alpha, beta)          = alpha · x + beta
 *   ImageScaler(x; scale, bias[C]) = scale · x + bias[c]           (NCHW)
 *   Crop(x; border = [left, top, right, bottom], scale = [h, w])
 *     = x[:, :, top : top + h, left : left + w]   with scale,
 *     = x[:, :, top : H − bottom, left : W − right] without.
 */
import type { NodeProto } from 'onnx-buf';
import { attrFloat, attrFloats, attrInts } from '../../ir/node.js';
import { DT } from '../../onnx/dtype.js';
import type { Cx } from './context.js';

export type Replacement = (node: NodeProto, cx: Cx) => NodeProto[];

/** "To the end" for Slice: any end past the dimension is clamped to it. */
const END = Number.MAX_SAFE_INTEGER;

function imageScaler(node: NodeProto, cx: Cx): NodeProto[] {
  const stem = cx.label(node);
  const x = node.input[0]!;
  const y = node.output[0]!;
  const scale = attrFloat(node, 'scale', 1);
  const bias = attrFloats(node, 'bias');
  if (!bias?.length) return [cx.node(stem, { opType: 'Mul', inputs: [x, cx.floatScalar(`${stem}_scale`, scale)], outputs: [y] })];
  const scaled = cx.fresh(`${stem}_scaled`);
  const biasName = cx.addConstant(`${stem}_bias`, DT.FLOAT, [1, bias.length, 1, 1], Float32Array.from(bias));
  return [
    cx.node(`${stem}_mul`, { opType: 'Mul', inputs: [x, cx.floatScalar(`${stem}_scale`, scale)], outputs: [scaled] }),
    cx.node(stem, { opType: 'Add', inputs: [scaled, biasName], outputs: [y] }),
  ];
}

function affine(node: NodeProto, cx: Cx): NodeProto[] {
  const stem = cx.label(node);
  const scaled = cx.fresh(`${stem}_scaled`);
  return [
    cx.node(`${stem}_mul`, { opType: 'Mul', inputs: [node.input[0]!, cx.floatScalar(`${stem}_alpha`, attrFloat(node, 'alpha', 1))], outputs: [scaled] }),
    cx.node(stem, { opType: 'Add', inputs: [scaled, cx.floatScalar(`${stem}_beta`, attrFloat(node, 'beta', 0))], outputs: [node.output[0]!] }),
  ];
}

function crop(node: NodeProto, cx: Cx): NodeProto[] {
  const border = attrInts(node, 'border');
  if (!border || border.length !== 4) cx.refuse('Crop needs its border attribute of 4 values (left, top, right, bottom)');
  const [left, top, right, bottom] = border as [number, number, number, number];
  const size = attrInts(node, 'scale');
  const ends = size?.length === 2 ? [top + size[0]!, left + size[1]!] : [bottom > 0 ? -bottom : END, right > 0 ? -right : END];
  return [cx.node(cx.label(node), { opType: 'Slice', inputs: [node.input[0]!], outputs: [node.output[0]!], attrs: { starts: [top, left], ends, axes: [2, 3] } })];
}

export const EXPERIMENTAL_REPLACEMENTS: Readonly<Record<string, Replacement>> = { Affine: affine, ImageScaler: imageScaler, Crop: crop };

/**
 * Clip-6 → Clip-11: the `min` and `max` attributes become optional scalar inputs of the input's
 * element type; a missing bound still means "unbounded" (ONNX Changelog, Clip-11).
 */
import type { NodeProto } from 'onnx-buf';
import { attrFloat, removeAttr } from '../../ir/node.js';
import type { AdapterResult, Cx } from './context.js';

export function clip11(node: NodeProto, cx: Cx): AdapterResult {
  const min = attrFloat(node, 'min');
  const max = attrFloat(node, 'max');
  removeAttr(node, 'min');
  removeAttr(node, 'max');
  if (min === undefined && max === undefined) return;
  // Clip-6 takes float16, float and double; without type information, float32 is by far the likeliest.
  const dtype = cx.dtype(node.input[0] ?? '');
  const stem = cx.label(node);
  const inputs = [node.input[0] ?? ''];
  inputs.push(min === undefined ? '' : cx.floatScalar(`${stem}_min`, min, dtype));
  if (max !== undefined) inputs.push(cx.floatScalar(`${stem}_max`, max, dtype));
  node.input = inputs;
}

/**
 * Softmax / LogSoftmax / Hardmax 11 → 13: `axis` used to mean "coerce the input to 2-D at axis and
 * normalise each row"; from 13 it is one axis, defaulting to -1 (ONNX Changelog, Softmax-13).
 * Where the old axis is the last one (or the dimensions after it are all 1) both readings agree and
 * only the axis is written out; otherwise the old meaning is rebuilt exactly:
 * Shape(x) and Flatten(x, axis) → op(axis=1) → Reshape(·, shape).
 */
import type { NodeProto } from 'onnx-buf';
import { attrInt, setAttr } from '../../ir/node.js';
import type { AdapterResult, Cx } from './context.js';

export function softmax13(node: NodeProto, cx: Cx): AdapterResult {
  const axis = attrInt(node, 'axis', 1);
  const x = node.input[0] ?? '';
  const y = node.output[0] ?? '';
  const rank = cx.rank(x) ?? cx.rank(y);
  const norm = axis < 0 && rank !== undefined ? axis + rank : axis;
  if (axis === -1 || (rank !== undefined && norm === rank - 1) || trailingOnes(cx.shape(x) ?? cx.shape(y), norm)) {
    setAttr(node, 'axis', axis); // written out: the default changed from 1 to -1
    return;
  }
  const stem = cx.label(node);
  const shape = cx.fresh(`${stem}_shape`);
  const flat = cx.fresh(`${stem}_2d`);
  const out2d = cx.fresh(`${stem}_out2d`);
  const shapeNode = cx.node(`${stem}_shape`, { opType: 'Shape', inputs: [x], outputs: [shape] });
  const flatten = cx.node(`${stem}_flatten`, { opType: 'Flatten', inputs: [x], outputs: [flat], attrs: { axis } });
  node.input = [flat];
  node.output = [out2d];
  setAttr(node, 'axis', 1);
  const reshape = cx.node(`${stem}_reshape`, { opType: 'Reshape', inputs: [out2d, shape], outputs: [y] });
  return [shapeNode, flatten, node, reshape];
}

/** True when every dimension after `axis` is statically 1, so the 2-D rows are exactly that axis. */
function trailingOnes(shape: (number | string | null)[] | undefined, axis: number): boolean {
  if (!shape || axis < 0 || axis >= shape.length) return false;
  return shape.slice(axis + 1).every((d) => d === 1);
}

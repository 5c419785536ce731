/**
 * Squeeze-11 / Unsqueeze-11 → 13: `axes` moves from an attribute to an optional int64 input
 * (ONNX Changelog, Squeeze-13 and Unsqueeze-13). A Squeeze without axes keeps removing every
 * dimension of size 1.
 */
import type { NodeProto } from 'onnx-buf';
import { removeAttr } from '../../ir/node.js';
import { attrInt64s, type AdapterResult, type Cx } from './context.js';

export function squeeze13(node: NodeProto, cx: Cx): AdapterResult {
  const axes = attrInt64s(node, 'axes');
  if (!axes) {
    if (node.opType === 'Unsqueeze') cx.refuse('Unsqueeze-11 needs the axes attribute, and this node lacks it');
    return 'same';
  }
  node.input = [node.input[0] ?? '', cx.int64s(`${cx.label(node)}_axes`, axes)];
  removeAttr(node, 'axes');
}

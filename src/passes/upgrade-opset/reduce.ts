/**
 * ReduceSum-11 → 13 and the other Reduce* ops 13 → 18: `axes` moves from an attribute to an optional
 * int64 input (ONNX Changelog, ReduceSum-13, ReduceMean-18 …). Without axes every axis is reduced,
 * as before: the new `noop_with_empty_axes` defaults to 0.
 */
import type { NodeProto } from 'onnx-buf';
import { removeAttr } from '../../ir/node.js';
import { attrInt64s, type AdapterResult, type Cx } from './context.js';

export function reduceAxesToInput(node: NodeProto, cx: Cx): AdapterResult {
  const axes = attrInt64s(node, 'axes');
  removeAttr(node, 'axes');
  if (!axes || axes.length === 0) return axes ? undefined : 'same';
  node.input = [node.input[0] ?? '', cx.int64s(`${cx.label(node)}_axes`, axes)];
}

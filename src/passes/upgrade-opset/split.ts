/**
 * Split-11 → 13: the `split` sizes move from an attribute to an optional int64 input (ONNX Changelog,
 * Split-13). Split-13 → 18: an equal split must now say how many parts with `num_outputs`
 * (Split-18), which is the number of outputs the node has.
 */
import type { NodeProto } from 'onnx-buf';
import { removeAttr, setAttr } from '../../ir/node.js';
import { attrInt64s, type AdapterResult, type Cx } from './context.js';

export function split13(node: NodeProto, cx: Cx): AdapterResult {
  const split = attrInt64s(node, 'split');
  if (!split) return 'same';
  node.input = [node.input[0] ?? '', cx.int64s(`${cx.label(node)}_split`, split)];
  removeAttr(node, 'split');
}

export function split18(node: NodeProto): AdapterResult {
  if (node.input[1]) return 'same';
  setAttr(node, 'num_outputs', node.output.length);
}

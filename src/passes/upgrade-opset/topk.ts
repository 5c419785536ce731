/** TopK-1 → TopK-10: `k` moves from an attribute to a 1-element int64 input (ONNX Changelog, TopK-10). */
import type { NodeProto } from 'onnx-buf';
import { getAttr, removeAttr } from '../../ir/node.js';
import type { AdapterResult, Cx } from './context.js';

export function topk10(node: NodeProto, cx: Cx): AdapterResult {
  const k = getAttr(node, 'k');
  if (!k) cx.refuse('TopK-1 needs the k attribute, and this node lacks it');
  node.input = [node.input[0] ?? '', cx.int64s(`${cx.label(node)}_k`, [k.i])];
  removeAttr(node, 'k');
}

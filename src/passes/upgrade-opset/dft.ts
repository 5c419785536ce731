/**
 * DFT-17 → 20: `axis` moves from an attribute (default 1) to an optional int64 scalar input whose
 * default is -2; the old axis is therefore always written out (ONNX Changelog, DFT-20).
 */
import type { NodeProto } from 'onnx-buf';
import { attrInt, removeAttr } from '../../ir/node.js';
import type { AdapterResult, Cx } from './context.js';

export function dft20(node: NodeProto, cx: Cx): AdapterResult {
  const axis = attrInt(node, 'axis', 1);
  removeAttr(node, 'axis');
  node.input = [node.input[0] ?? '', node.input[1] ?? '', cx.int64s(`${cx.label(node)}_axis`, [axis], true)];
}

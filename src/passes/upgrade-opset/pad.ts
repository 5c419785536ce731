/**
 * Pad-2 → Pad-11: `pads` moves to an int64 input and `value` to an optional scalar input of the data's
 * type; `mode` (constant, reflect, edge) stays an attribute (ONNX Changelog, Pad-11).
 */
import type { NodeProto } from 'onnx-buf';
import { attrFloat, attrString, removeAttr } from '../../ir/node.js';
import { attrInt64s, type AdapterResult, type Cx } from './context.js';

export function pad11(node: NodeProto, cx: Cx): AdapterResult {
  const pads = attrInt64s(node, 'pads');
  if (!pads) cx.refuse('Pad-2 needs the pads attribute, and this node lacks it');
  const value = attrFloat(node, 'value', 0);
  const mode = attrString(node, 'mode', 'constant');
  const stem = cx.label(node);
  const inputs = [node.input[0] ?? '', cx.int64s(`${stem}_pads`, pads)];
  // Pad-2 takes float types only; float32 when the graph does not say.
  if (mode === 'constant' && value !== 0) inputs.push(cx.floatScalar(`${stem}_value`, value, cx.dtype(node.input[0] ?? '')));
  node.input = inputs;
  removeAttr(node, 'pads');
  removeAttr(node, 'value');
}

/**
 * Dropout 7 → 10 → 12 (ONNX Changelog, Dropout-10 and -12). 10 made the optional `mask` output bool
 * (it had the data's type): an unused mask is dropped, a used one refused. 12 moved `ratio` from an
 * attribute to an optional input and added `training_mode` (absent: inference, as before).
 */
import type { NodeProto } from 'onnx-buf';
import { attrFloat, removeAttr } from '../../ir/node.js';
import type { AdapterResult, Cx } from './context.js';

export function dropout10(node: NodeProto, cx: Cx): AdapterResult {
  const mask = node.output[1];
  if (mask === undefined) return 'same';
  if (cx.isRead(mask)) cx.refuse('its mask output is used, and Dropout-10 changed the mask from the data type to bool');
  node.output = [node.output[0] ?? ''];
}

export function dropout12(node: NodeProto, cx: Cx): AdapterResult {
  const ratio = attrFloat(node, 'ratio');
  if (ratio === undefined) return 'same';
  removeAttr(node, 'ratio');
  node.input = [node.input[0] ?? '', cx.floatScalar(`${cx.label(node)}_ratio`, ratio)];
}

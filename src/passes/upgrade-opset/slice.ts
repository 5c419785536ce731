/**
 * Slice-1 → Slice-10: `starts`, `ends` and `axes` move from attributes to int64 inputs; their meaning
 * (clamping, negative values counted from the end, axes defaulting to 0..n-1) is unchanged and the new
 * `steps` input defaults to 1 (ONNX Changelog, Slice-10).
 */
import type { NodeProto } from 'onnx-buf';
import { removeAttr } from '../../ir/node.js';
import { attrInt64s, type AdapterResult, type Cx } from './context.js';

export function slice10(node: NodeProto, cx: Cx): AdapterResult {
  const starts = attrInt64s(node, 'starts');
  const ends = attrInt64s(node, 'ends');
  const axes = attrInt64s(node, 'axes');
  if (!starts || !ends) cx.refuse('Slice-1 needs the starts and ends attributes, and this node lacks them');
  const stem = cx.label(node);
  const inputs = [node.input[0] ?? '', cx.int64s(`${stem}_starts`, starts), cx.int64s(`${stem}_ends`, ends)];
  if (axes) inputs.push(cx.int64s(`${stem}_axes`, axes));
  node.input = inputs;
  for (const a of ['starts', 'ends', 'axes']) removeAttr(node, a);
}

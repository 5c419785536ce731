/**
 * GridSample-16 → 20: the `mode` values were renamed, 'bilinear' → 'linear' and 'bicubic' → 'cubic'
 * ('nearest' stays), with the same meaning (ONNX Changelog, GridSample-20).
 */
import type { NodeProto } from 'onnx-buf';
import { attrString, setAttr } from '../../ir/node.js';
import type { AdapterResult } from './context.js';

const RENAMED: Record<string, string> = { bilinear: 'linear', bicubic: 'cubic' };

export function gridsample20(node: NodeProto): AdapterResult {
  const mode = attrString(node, 'mode');
  const renamed = mode === undefined ? undefined : RENAMED[mode];
  if (!renamed) return 'same';
  setAttr(node, 'mode', renamed);
}

/**
 * RoiAlign-10 → 16: -16 added `coordinate_transformation_mode` defaulting to 'half_pixel', while -10
 * behaved as 'output_half_pixel' (no pixel shift); the old behaviour is written out
 * (ONNX Changelog, RoiAlign-16).
 */
import type { NodeProto } from 'onnx-buf';
import { getAttr, setAttr } from '../../ir/node.js';
import type { AdapterResult } from './context.js';

export function roialign16(node: NodeProto): AdapterResult {
  if (getAttr(node, 'coordinate_transformation_mode')) return 'same';
  setAttr(node, 'coordinate_transformation_mode', 'output_half_pixel');
}

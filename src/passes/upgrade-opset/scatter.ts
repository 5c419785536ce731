/**
 * Scatter-9 → ScatterElements-11: Scatter was deprecated in opset 11 and renamed, with the same
 * inputs (data, indices, updates), the same `axis` and the same meaning (ONNX Changelog,
 * Scatter-11 and ScatterElements-11).
 */
import type { NodeProto } from 'onnx-buf';
import type { AdapterResult } from './context.js';

export function scatterToScatterElements(node: NodeProto): AdapterResult {
  node.opType = 'ScatterElements';
  return [node];
}

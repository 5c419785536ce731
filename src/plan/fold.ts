/**
 * Relu, and Clip with a lower bound of 0, directly after a quantized op: quantize the Relu's output
 * instead of its input and remove the Relu. With an asymmetric range whose zero point sits at qmin,
 * QuantizeLinear itself clamps at 0, so the removal is exact (checked again at export, on the final
 * parameters).
 */
import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { attrFloat, getAttr, isStandard } from '../ir/node.js';
import { DT } from '../onnx/dtype.js';
import { readFloat32 } from '../onnx/tensor.js';
import type { QuantPlan } from './plan.js';

export function foldActivations(graph: Graph, plan: QuantPlan, exclude: ReadonlySet<string>): void {
  const shared = new Set(Object.values(plan.activations).flatMap((e) => (e.sameAs ? [e.sameAs] : [])));
  for (const node of graph.nodes) {
    if (!foldable(graph, node, exclude)) continue;
    const c = node.input[0]!;
    const r = node.output[0]!;
    const entry = plan.activations[c];
    const existing = plan.activations[r];
    // r may already be planned as the next op's input: fine, as long as it is an ordinary calibrated range.
    if (!entry || !entry.method || entry.at || (existing && (!existing.method || existing.at))) continue;
    if (shared.has(c)) continue;
    delete plan.activations[c];
    plan.activations[r] = entry;
    plan.folded.push({ node: node.name, op: node.opType, input: c, output: r });
  }
}

/**
 * A Relu or Clip(0, …) that can fold into its input's range, as far as the graph goes: not excluded,
 * the only reader of an ordinary intermediate (the plan must also give that input a calibrated range).
 */
export function foldable(graph: Graph, node: NodeProto, exclude: ReadonlySet<string>): boolean {
  if ((node.opType !== 'Relu' && node.opType !== 'Clip') || !isStandard(node)) return false;
  if (exclude.has(node.name) || exclude.has(node.opType) || !node.output[0]) return false;
  const c = node.input[0]!;
  if (graph.consumers(c).length !== 1 || graph.isGraphOutput(c) || graph.isGraphInput(c)) return false;
  return node.opType === 'Relu' || clipLowerBoundZero(graph, node);
}

/** Clip(0, …): a zero point at qmin clamps at exactly 0; any other lower bound needs the Clip. */
function clipLowerBoundZero(graph: Graph, node: NodeProto): boolean {
  if (getAttr(node, 'min')) return attrFloat(node, 'min', 0) === 0;
  const minName = node.input[1];
  if (!minName) return false;
  const t = graph.constant(minName);
  return !!t && t.dataType === DT.FLOAT && readFloat32(t)[0] === 0;
}

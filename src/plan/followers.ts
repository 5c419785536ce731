/**
 * Which candidates to quantize. Anchors (ops whose rule does not `followsQuantized`: Conv, Gemm,
 * MatMul …) always are. A follower (Add, Mul, Sigmoid, Reshape …) is worth it only when one of its
 * inputs is quantized by another op and its output is read as a quantized input by another op: then
 * it runs as an integer kernel between integer kernels. Otherwise its output would be requantized
 * only to be dequantized for a float op next — error for no gain (PaddleOCR's hard-swish, x·relu6(x+3)
 * before a float Div, loses a third of its text lines that way). The greatest set of followers that
 * satisfies this is found by dropping the ones that do not until none is left to drop: a worklist, so
 * that a node is looked at again only when a neighbour was dropped.
 */
import type { NodeProto } from 'onnx-buf';
import type { OpRule } from './rules.js';

/** A node with a rule, and the inputs that rule quantizes as activations. */
export interface Candidate {
  node: NodeProto;
  rule: OpRule;
  inputs: number[];
}

export interface Accepted {
  nodes: Set<NodeProto>;
  /** Tensors read as quantized inputs by accepted nodes. */
  readers: Set<string>;
}

/** `quantizable(name)`: a float value that is not a constant (constants are quantized as weights). */
export function acceptFollowers(candidates: readonly Candidate[], quantizable: (name: string) => boolean, floatOutput: (name: string) => boolean): Accepted {
  const ins = new Map<NodeProto, string[]>();
  const outs = new Map<NodeProto, string[]>();
  const readers = new Map<string, Set<NodeProto>>();
  const writers = new Map<string, Set<NodeProto>>();
  const add = (m: Map<string, Set<NodeProto>>, t: string, n: NodeProto) => (m.get(t) ?? m.set(t, new Set()).get(t)!).add(n);
  for (const { node, rule, inputs } of candidates) {
    const indices = [...inputs];
    if (rule.weight) indices.push(rule.weight.input); // a computed weight is an activation input
    const i = indices.map((k) => node.input[k]).filter((n): n is string => !!n && quantizable(n));
    const o = rule.output === 'none' ? [] : node.output.filter((n) => !!n && floatOutput(n));
    ins.set(node, i);
    outs.set(node, o);
    for (const t of i) add(readers, t, node);
    for (const t of o) add(writers, t, node);
  }
  const rules = new Map(candidates.map((c) => [c.node, c.rule]));
  const accepted = new Set(candidates.map((c) => c.node));
  const byOthers = (m: Map<string, Set<NodeProto>>, t: string, self: NodeProto) => {
    const s = m.get(t);
    return !!s && s.size > (s.has(self) ? 1 : 0);
  };
  const keeps = (n: NodeProto) =>
    !rules.get(n)!.followsQuantized ||
    (ins.get(n)!.some((t) => byOthers(readers, t, n) || byOthers(writers, t, n)) && outs.get(n)!.some((t) => byOthers(readers, t, n)));
  const work = [...accepted];
  while (work.length) {
    const n = work.pop()!;
    if (!accepted.has(n) || keeps(n)) continue;
    accepted.delete(n);
    // Dropping n can only take support away from the nodes that share a tensor with it.
    for (const t of [...ins.get(n)!, ...outs.get(n)!]) {
      readers.get(t)?.delete(n);
      writers.get(t)?.delete(n);
      for (const m of [...(readers.get(t) ?? []), ...(writers.get(t) ?? [])]) work.push(m);
    }
  }
  return { nodes: accepted, readers: new Set([...readers].filter(([, s]) => s.size > 0).map(([t]) => t)) };
}

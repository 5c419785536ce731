/**
 * Rewrites hard-swish written out by hand — x·Clip(x + 3, 0, 6)/6 (PaddleOCR, older PyTorch exports)
 * or x·HardSigmoid(x) with α = 1/6, β = ½ — as one HardSwish node (ONNX opset 14). The result is the
 * same function (HardSwish(x) = x·max(0, min(1, x/6 + ½))); between quantized convolutions it is one
 * float pass over the activation instead of four.
 */
import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { attrFloat, getAttr, makeNode } from '../ir/node.js';
import { readFloat32 } from '../onnx/tensor.js';

interface Match {
  x: string;
  nodes: NodeProto[];
  output: string;
}

/** The hard-swish patterns in the graph; each node of a match feeds only the next. */
export function findHardSwish(graph: Graph): Match[] {
  const matches: Match[] = [];
  const scalar = (name: string | undefined): number | undefined => {
    const t = name ? graph.constant(name) : undefined;
    if (!t || t.dataType !== 1) return undefined;
    const v = readFloat32(t);
    return v.length === 1 ? v[0] : undefined;
  };
  const only = (name: string, op: string): NodeProto | undefined => {
    const users = graph.consumers(name);
    return users.length === 1 && users[0]!.opType === op && !graph.isGraphOutput(name) ? users[0] : undefined;
  };
  const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-6 * Math.abs(b);
  for (const add of graph.nodes) {
    // x + 3 → Clip(0, 6) → x · clip → ÷ 6 (or · 1/6)
    if (add.opType !== 'Add') continue;
    const k = add.input.findIndex((i) => near(scalar(i), 3));
    if (k < 0) continue;
    const x = add.input[1 - k]!;
    const clip = only(add.output[0]!, 'Clip');
    if (!clip || getAttr(clip, 'min') || !near(scalar(clip.input[1]), 0) || !near(scalar(clip.input[2]), 6)) continue;
    const mul = only(clip.output[0]!, 'Mul');
    if (!mul || !mul.input.includes(x)) continue;
    const div = graph.consumers(mul.output[0]!);
    if (div.length !== 1 || graph.isGraphOutput(mul.output[0]!)) continue;
    const last = div[0]!;
    const ok = (last.opType === 'Div' && near(scalar(last.input[1]), 6)) || (last.opType === 'Mul' && last.input.some((i) => near(scalar(i), 1 / 6)));
    if (ok) matches.push({ x, nodes: [add, clip, mul, last], output: last.output[0]! });
  }
  for (const hs of graph.nodes) {
    // x · HardSigmoid(x; α = 1/6, β = ½)
    if (hs.opType !== 'HardSigmoid' || !near(attrFloat(hs, 'alpha', 0.2), 1 / 6) || !near(attrFloat(hs, 'beta', 0.5), 0.5)) continue;
    const x = hs.input[0]!;
    const mul = only(hs.output[0]!, 'Mul');
    if (mul && mul.input.includes(x)) matches.push({ x, nodes: [hs, mul], output: mul.output[0]! });
  }
  return matches;
}

/** Replaces each match by a HardSwish node; the graph must be at opset 14 or later. */
export function fuseHardSwish(graph: Graph, matches: Match[] = findHardSwish(graph)): number {
  for (const m of matches) {
    const first = m.nodes[0]!;
    for (const n of m.nodes) graph.removeNode(n);
    graph.insertNodes([makeNode({ opType: 'HardSwish', name: graph.uniqueName(`${first.name || m.output}_hardswish`), inputs: [m.x], outputs: [m.output] })]);
  }
  if (matches.length) {
    graph.sort();
    graph.removeUnused();
  }
  return matches.length;
}

/**
 * MatMul(A, W) followed by Add(·, b) becomes Gemm(A, W, b), where A is 2-D, W a constant [K, N] and
 * b a constant [N] or [1, N] — the classifier head of TensorFlow and Paddle exports (PyTorch writes
 * Gemm itself). onnxruntime fuses MatMul+Add into a Gemm before it looks at Q/DQ groups, and a Gemm
 * whose bias is a float Add leftover then runs in float on dequantized inputs: slower than float and
 * no more exact than int8. As a Gemm from the start, its bias is stored int32 and ORT runs QGemm.
 * A's rank decides (Gemm takes 2-D A only), so the pass runs on measured value types.
 */
import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { isStandard, makeNode } from '../ir/node.js';
import type { ValueType } from '../ir/types.js';
import { DT } from '../onnx/dtype.js';
import { readFloat32, tensorDims } from '../onnx/tensor.js';
import { setConstantInput } from './weights.js';

/**
 * Rewrites in place; `types` loses the MatMul outputs that no longer exist. `keep` names pairs to leave
 * as they are (a user's --exclude or --op-types that speaks of them). Returns the count.
 */
export function fuseMatMulBias(graph: Graph, types: Map<string, ValueType>, keep: (matmul: NodeProto, add: NodeProto) => boolean = () => false): number {
  let fused = 0;
  for (const mm of [...graph.nodes]) {
    if (mm.opType !== 'MatMul' || !isStandard(mm)) continue;
    const [a, w] = mm.input as [string, string];
    const y = mm.output[0]!;
    const weight = graph.constant(w);
    if (types.get(a)?.shape?.length !== 2 || !weight || weight.dataType !== DT.FLOAT || tensorDims(weight).length !== 2) continue;
    const readers = graph.consumers(y);
    if (readers.length !== 1 || graph.isGraphOutput(y)) continue;
    const add = readers[0]!;
    if (add.opType !== 'Add' || !isStandard(add) || add.input[0] === add.input[1] || keep(mm, add)) continue;
    const b = add.input[0] === y ? add.input[1]! : add.input[0]!;
    const bias = graph.constant(b);
    const n = tensorDims(weight)[1]!;
    const biasDims = bias ? tensorDims(bias) : [];
    if (!bias || bias.dataType !== DT.FLOAT || !(biasDims.length === 1 || (biasDims.length === 2 && biasDims[0] === 1)) || biasDims[biasDims.length - 1] !== n) continue;
    const gemm = makeNode({ opType: 'Gemm', name: mm.name, inputs: [a, w, b], outputs: [add.output[0]!] });
    // A [1, N] bias as [N], the form an int32 bias takes and QGemm reads; and a bias of its own where
    // other nodes read it too (each Gemm's int32 bias has its own scale).
    if (biasDims.length === 2 || graph.consumers(b).length > 1) setConstantInput(graph, gemm, 2, `${b}_${biasDims.length === 2 ? '1d' : mm.name || 'gemm'}`, [n], readFloat32(bias));
    graph.insertNodes([gemm], add);
    graph.removeNode(add);
    graph.removeNode(mm);
    types.delete(y);
    fused++;
  }
  return fused;
}

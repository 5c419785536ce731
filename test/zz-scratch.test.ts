import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { it } from 'vitest';
import { encodeModel } from '../src/onnx/codec.js';
import { makeNode } from '../src/ir/node.js';
import { makeValueInfo } from '../src/ir/types.js';
it('dump', async () => {
  const outs: Float32Array[] = [];
  const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * 8 * 9 * 10 }, (_, i) => Math.sin(i * 1.37) * 3.1), [2, 8, 9, 10]);
  for (const opset of [18, 19]) {
    const m = create(ModelProtoSchema, { irVersion: 9n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
      graph: create(GraphProtoSchema, { name: 'g', node: [makeNode({ opType: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [3, 2], strides: [3, 2], pads: [0, 0, 0, 0], count_include_pad: 0 } })],
        input: [makeValueInfo('x', { dtype: 1, shape: [2, 8, 9, 10] })], output: [makeValueInfo('y', { dtype: 1 })] }) });
    outs.push((await (await ort.InferenceSession.create(encodeModel(m).model, { graphOptimizationLevel: 'disabled' })).run({ x })).y!.data as Float32Array);
  }
  let worst = 0; for (let i = 0; i < outs[0]!.length; i++) worst = Math.max(worst, Math.abs(outs[0]![i]! - outs[1]![i]!));
  fs.writeFileSync('/tmp/scratch.txt', `avgpool 18 vs 19 maxdiff ${worst}`);
});

/**
 * The gradient engine on real exports: PaddleOCR's three models (a MobileNetV3 classifier, the DBNet
 * detector with Resize and ConvTranspose in its FPN and head, the SVTR recognizer with a LayerNorm
 * spelled out as ReduceMean/Sub/Pow/Sqrt/Div and attention MatMuls), prepared as for quantization
 * (opset 16, BatchNorm folded where it follows a Conv), every Conv/ConvTranspose/Gemm/MatMul weight and
 * bias and BatchNorm scale/bias trained, MSE against a random target — for the detector and the
 * recognizer on their logits: the detector's probability map saturates on random input, and the
 * recognizer's 6625-way softmax makes an MSE whose gradient is tiny beside its value (cut there, a
 * descent step lowered the loss by 3 % of its first-order prediction; cut at the logits or at any of six
 * points before them, by 90–100 %). The check is the directional derivative along the
 * gradient g: (L(θ + εg) − L(θ − εg))/(2ε) against |g|², with the step εg of norm 1e-5·|θ|: a larger
 * one crosses the kinks of Relu, HardSwish and Clip (on the classifier, one weight: relative error 0.44,
 * 0.34, 0.10, 0.009 at steps 1e-2 … 1e-5 of its norm), a smaller one drowns in the float32 rounding of
 * the loss. On the classifier that error must be ≤ 1e-2. On the detector and the recognizer no step is
 * clean in float32 (per tensor the error falls to 1e-2 … 5e-2 and then rises again as the step shrinks), so
 * there the check is descent: a step of −ηg, sized to lower the loss by 1e-3 of itself to first order,
 * must lower it by at least half of that.
 */
import { describe, expect, it } from 'vitest';
import { loadModelFile } from '../../src/node/files.js';
import { readFloat32 } from '../../src/onnx/tensor.js';
import { prepareModel } from '../../src/passes/prepare.js';
import { Runner } from '../../src/runtime/runner.js';
import type { Sample } from '../../src/data/source.js';
import { buildTrainingGraph } from '../../src/train/graph.js';
import { measureShapes } from '../../src/train/fake-quant.js';
import { makeValueInfo } from '../../src/ir/types.js';
import { randomFloats } from '../helpers/build.js';
import { PADDLE_MODELS } from '../helpers/paddle.js';

const WEIGHTED: Record<string, number[]> = { Conv: [1, 2], ConvTranspose: [1, 2], Gemm: [1, 2], MatMul: [0, 1], BatchNormalization: [1, 2] };

describe('training graphs of PaddleOCR models', () => {
  for (const [task, dims] of [['cls', [2, 3, 48, 192]], ['det', [1, 3, 64, 64]], ['rec', [1, 3, 48, 160]]] as const)
    it(`${task}: builds, runs, and its gradient is a descent direction (cls: matches finite differences)`, async () => {
      const { model } = loadModelFile(PADDLE_MODELS[task]);
      prepareModel(model, { minOpset: 16 });
      const graph = model.graph!;
      const floats = new Set(graph.initializer.filter((t) => t.dataType === 1).map((t) => t.name));
      const trainable = [...new Set(graph.node.flatMap((n) => (WEIGHTED[n.opType] ?? []).map((i) => n.input[i]!).filter((i) => floats.has(i))))];
      const input = graph.input[0]!.name;
      let output = graph.output[0]!.name;
      if (task !== 'cls') {
        output = graph.node.findLast((n) => n.opType === (task === 'det' ? 'Sigmoid' : 'Softmax'))!.input[0]!;
        graph.output.push(makeValueInfo(output, { dtype: 1 }));
      }
      const data: Sample = { [input]: { dtype: 'float32', dims: [...dims], data: randomFloats(dims.reduce((a, b) => a * b, 1), 3) } };
      const shapes = await measureShapes(model, data);
      const started = performance.now();
      const training = buildTrainingGraph(model, { trainable, loss: 'mse', target: 'target', shapes, output });
      const out = shapes.get(output)!;
      const runner = await Runner.create(training.model);
      const theta = new Map(trainable.map((name) => [name, Float32Array.from(readFloat32(graph.initializer.find((t) => t.name === name)!))]));
      const target = { dtype: 'float32', dims: out, data: randomFloats(out.reduce((a, b) => a * b, 1), 4) };
      const feeds = (shift: number, g?: Map<string, Float32Array>): Sample => {
        const f: Sample = { ...data, target };
        for (const [name, v] of theta) {
          const moved = g ? v.map((x, i) => x + shift * g.get(name)![i]!) : v;
          f[name] = { dtype: 'float32', dims: graph.initializer.find((t) => t.name === name)!.dims.map(Number), data: moved };
        }
        return f;
      };
      const result = await runner.run(feeds(0));
      const built = performance.now() - started;
      const g = new Map(trainable.map((name) => [name, result[training.gradients.get(name)!]!.data as Float32Array]));
      let norm2 = 0;
      for (const v of g.values()) for (const x of v) norm2 += x * x;
      let theta2 = 0;
      for (const v of theta.values()) for (const x of v) theta2 += x * x;
      const eps = (1e-5 * Math.sqrt(theta2)) / Math.sqrt(norm2);
      const loss = async (shift: number) => (await runner.run(feeds(shift, g), [training.loss]))[training.loss]!.data[0] as number;
      const directional = ((await loss(eps)) - (await loss(-eps))) / (2 * eps);
      const base = result[training.loss]!.data[0] as number;
      const eta = (1e-3 * base) / norm2;
      const descended = await loss(-eta);
      await runner.release();
      const error = Math.abs(directional - norm2) / norm2;
      const drop = (base - descended) / (eta * norm2);
      console.log(
        `${task}: ${trainable.length} trainable tensors, ${training.model.graph!.node.length} nodes; built and run in ${built.toFixed(0)} ms; ` +
          `|g|² ${norm2.toExponential(3)}, finite difference ${directional.toExponential(3)} (relative error ${error.toExponential(1)}); a step down the gradient lowers the loss by ${drop.toFixed(2)} of the first-order prediction`,
      );
      if (task === 'cls') expect(error).toBeLessThan(1e-2);
      expect(drop).toBeGreaterThan(0.5);
    });
});

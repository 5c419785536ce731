/**
 * Fake quantization in the training graph (src/train/fake-quant.ts): the forward value, the straight-
 * through gradient of the input and LSQ's gradient of the scale, against values computed by hand
 * (the arithmetic is in the comments). Loss: MSE against zeros, so dŷ = 2ŷ/n.
 */
import { describe, expect, it } from 'vitest';
import type { ModelProto } from 'onnx-buf';
import { floatTensor } from '../../src/onnx/tensor.js';
import { Runner } from '../../src/runtime/runner.js';
import type { Sample } from '../../src/data/source.js';
import { buildTrainingGraph } from '../../src/train/graph.js';
import { inferenceModel, insertFakeQuant, measureShapes, type FakeQuantSpec } from '../../src/train/fake-quant.js';
import { buildModel, runModel } from '../helpers/build.js';

async function gradients(model: ModelProto, data: Sample, spec: FakeQuantSpec, trainable: string[]) {
  const shapes = await measureShapes(model, data);
  const fq = insertFakeQuant(model, [spec], shapes);
  const out = shapes.get('y')!;
  const { model: training, gradients, loss } = buildTrainingGraph(fq.model, { trainable: [...trainable, fq.scales[0]!], loss: 'mse', target: 't', shapes: fq.shapes, keepOutputs: true });
  const runner = await Runner.create(training);
  const feeds: Sample = { ...data, t: { dtype: 'float32', dims: out, data: new Float32Array(out.reduce((a, b) => a * b, 1)) } };
  for (const name of trainable) if (!feeds[name]) feeds[name] = { dtype: 'float32', dims: [2, 2], data: Float32Array.of(0.35, -1.1, 0.2, 0.9) };
  feeds[fq.scales[0]!] = { dtype: 'float32', dims: spec.axis === undefined ? [] : [2, 1], data: Float32Array.from(typeof spec.scale === 'number' ? [spec.scale] : spec.scale!) };
  const result = await runner.run(feeds);
  await runner.release();
  const get = (name: string) => Array.from(result[name]!.data as Float32Array);
  return { y: get('y'), loss: get(loss)[0]!, grad: (name: string) => get(gradients.get(name)!), scale: get(gradients.get(fq.scales[0]!)!), fq };
}

describe('fake quantization: STE and LSQ gradients', () => {
  it('per tensor, on an activation: 3 bits [−4, 3], s = 0.5', async () => {
    const model = buildModel({ inputs: [{ name: 'x', dims: [1, 6] }], outputs: [{ name: 'y', dims: [1, 6] }], nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y'] }] });
    const x = Float32Array.of(0.26, -0.74, 2.0, -3.0, 0.9, 1.6);
    const r = await gradients(model, { x: { dtype: 'float32', dims: [1, 6], data: x } }, { tensor: 'x', bits: 3, narrow: false, scale: 0.5 }, ['x']);
    // x/s = [0.52, −1.48, 4, −6, 1.8, 3.2] → round [1, −1, 4, −6, 2, 3]; 4 > 3 and −6 < −4 are clipped.
    const yHat = [0.5, -0.5, 1.5, -2.0, 1.0, 1.5];
    r.y.forEach((v, i) => expect(v).toBeCloseTo(yHat[i]!, 6));
    const dy = yHat.map((v) => (2 * v) / 6);
    // STE: dŷ inside the range, 0 for the two clipped values.
    const dx = [dy[0]!, dy[1]!, 0, 0, dy[4]!, dy[5]!];
    r.grad('x').forEach((v, i) => expect(v).toBeCloseTo(dx[i]!, 6));
    // LSQ: round(x/s) − x/s inside (0.48, 0.48, 0.2, −0.2), qmax = 3 above, qmin = −4 below; g = 1/√(6·3).
    const perValue = [0.48, 0.48, 3, -4, 0.2, -0.2];
    const ds = perValue.reduce((a, v, i) => a + v * dy[i]!, 0) / Math.sqrt(18);
    expect(ds).toBeCloseTo(0.974238, 5);
    expect(r.scale[0]).toBeCloseTo(ds, 5);
  });

  it('per channel, on a weight: 3 bits narrow [−3, 3], s = [0.5, 0.25]', async () => {
    const model = buildModel({
      inputs: [],
      outputs: [{ name: 'y', dims: [2, 2] }],
      nodes: [{ opType: 'Identity', inputs: ['w'], outputs: ['y'] }],
      initializers: [floatTensor('w', [2, 2], [0.35, -1.1, 0.2, 0.9])],
    });
    const r = await gradients(model, {}, { tensor: 'w', bits: 3, axis: 0, scale: Float32Array.of(0.5, 0.25) }, ['w']);
    // Row 0: w/s = [0.7, −2.2] → [1, −2], inside. Row 1: [0.8, 3.6] → [1, 4], the 4 clipped to 3.
    const yHat = [0.5, -1.0, 0.25, 0.75];
    r.y.forEach((v, i) => expect(v).toBeCloseTo(yHat[i]!, 6));
    const dy = yHat.map((v) => (2 * v) / 4);
    r.grad('w').forEach((v, i) => expect(v).toBeCloseTo([dy[0]!, dy[1]!, dy[2]!, 0][i]!, 6));
    // ds₀ = 0.25·(1 − 0.7) + (−0.5)·(−2 + 2.2) = −0.025; ds₁ = 0.125·(1 − 0.8) + 0.375·3 = 1.15; g = 1/√(2·3).
    const g = 1 / Math.sqrt(6);
    expect(r.scale[0]).toBeCloseTo(-0.025 * g, 6);
    expect(r.scale[1]).toBeCloseTo(1.15 * g, 6);
  });

  it('weights get LSQ’s initial scale, and the lowered model runs in onnxruntime', async () => {
    const w = Float32Array.of(0.4, -0.2, 0.1, -0.3, 0.6, -0.5);
    const model = buildModel({
      inputs: [{ name: 'x', dims: [1, 3] }],
      outputs: [{ name: 'y', dims: [1, 2] }],
      nodes: [{ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
      initializers: [floatTensor('w', [3, 2], w)],
    });
    const x = { x: { dtype: 'float32', dims: [1, 3], data: Float32Array.of(1, 2, 3) } };
    const shapes = await measureShapes(model, x);
    const fq = insertFakeQuant(model, [{ tensor: 'w', bits: 4 }], shapes);
    const s = fq.model.graph!.initializer.find((t) => t.name === fq.scales[0])!;
    const init = (2 * (2.1 / 6)) / Math.sqrt(7); // 2·mean|w|/√qmax
    expect(new Float32Array(s.rawData.slice().buffer)[0]).toBeCloseTo(init, 6);
    const y = (await runModel(inferenceModel(fq.model), x)).y!;
    const q = Array.from(w, (v) => Math.max(-7, Math.min(7, Math.round(v / init))) * init);
    expect(y[0]).toBeCloseTo(q[0]! + 2 * q[2]! + 3 * q[4]!, 5);
    expect(y[1]).toBeCloseTo(q[1]! + 2 * q[3]! + 3 * q[5]!, 5);
  });
});

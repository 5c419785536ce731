/**
 * Central finite differences against the training graph's gradients: the loss (MSE against a random
 * target) is evaluated by the very session that computes the gradients, at θ ± ε on chosen coordinates.
 */
import type { ModelProto } from 'onnx-buf';
import type { Sample } from '../../src/data/source.js';
import { readFloat32 } from '../../src/onnx/tensor.js';
import { Runner } from '../../src/runtime/runner.js';
import { buildTrainingGraph } from '../../src/train/graph.js';
import { measureShapes } from '../../src/train/fake-quant.js';
import { randomFloats } from '../helpers/build.js';

export interface GradCheckOptions {
  eps?: number;
  /** Coordinates checked per tensor (all when the tensor is smaller). */
  coordinates?: number;
  seed?: number;
  /** 'cross-entropy' feeds random labels for logits [N, K] (default 'mse' against a random target). */
  loss?: 'mse' | 'cross-entropy';
}

/**
 * Per trainable tensor, the largest relative error over the checked coordinates:
 * |fd − analytic| / max(|fd|, |analytic|, floor), floor = 1e-2·max|analytic over the tensor| + 3e-6·|L|/ε:
 * the second term is what float32 rounding of the loss L (a few ulps, 1.2e-7 each relative) leaves in
 * a central difference, so that coordinates whose gradient is ~0 do not divide rounding by nothing.
 */
export async function gradCheck(model: ModelProto, data: Sample, trainable: string[], options: GradCheckOptions = {}): Promise<Record<string, number>> {
  const eps = options.eps ?? 1e-2;
  const shapes = await measureShapes(model, data);
  const out = model.graph!.output[0]!.name;
  const outShape = shapes.get(out)!;
  const lossKind = options.loss ?? 'mse';
  const { model: training, loss, gradients } = buildTrainingGraph(model, { trainable, loss: lossKind, target: 'target', shapes });
  const runner = await Runner.create(training, { optimization: 'all' });
  try {
    const params: Record<string, { dims: number[]; data: Float32Array }> = {};
    for (const name of trainable) {
      const init = model.graph!.initializer.find((t) => t.name === name);
      params[name] = init ? { dims: init.dims.map(Number), data: readFloat32(init) } : { dims: data[name]!.dims, data: Float32Array.from(data[name]!.data as Float32Array) };
    }
    const random = randomFloats(outShape.reduce((a, b) => a * b, 1), (options.seed ?? 7) + 101);
    const target =
      lossKind === 'mse'
        ? { dtype: 'float32', dims: outShape, data: random }
        : { dtype: 'int64', dims: [outShape[0]!], data: BigInt64Array.from(random.subarray(0, outShape[0]), (v) => BigInt(Math.floor((v + 1) * 0.5 * outShape[1]!))) };
    const feeds = (): Sample => {
      const f: Sample = { ...data, target };
      for (const [name, p] of Object.entries(params)) f[name] = { dtype: 'float32', dims: p.dims, data: p.data };
      return f;
    };
    const analytic = await runner.run(feeds());
    const lossAt = async () => (await runner.run(feeds(), [loss]))[loss]!.data[0] as number;
    const base = analytic[loss]!.data[0] as number;
    const errors: Record<string, number> = {};
    let seed = options.seed ?? 3;
    for (const name of trainable) {
      const g = analytic[gradients.get(name)!]!.data as Float32Array;
      const p = params[name]!.data;
      if (g.length !== p.length) throw new Error(`gradient of ${name} has ${g.length} values for ${p.length}`);
      const floor = 1e-2 * g.reduce((m, v) => Math.max(m, Math.abs(v)), 0) + (3e-6 * Math.abs(base)) / eps;
      const n = options.coordinates ?? 24;
      const picks = p.length <= n ? [...p.keys()] : [...randomFloats(n, seed++, 0, p.length)].map(Math.floor);
      let worst = 0;
      for (const i of picks) {
        const keep = p[i]!;
        p[i] = keep + eps;
        const up = await lossAt();
        p[i] = keep - eps;
        const down = await lossAt();
        p[i] = keep;
        const fd = (up - down) / (2 * eps);
        worst = Math.max(worst, Math.abs(fd - g[i]!) / Math.max(Math.abs(fd), Math.abs(g[i]!), floor));
      }
      errors[name] = worst;
    }
    return errors;
  } finally {
    await runner.release();
  }
}

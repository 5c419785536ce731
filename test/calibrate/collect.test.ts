/**
 * The calibration loop runs its sessions at onnxruntime's 'all' level for convolution nets: every watched
 * tensor must still be there with its own values — not fused into the op after it, not moved by a layout
 * change — as at 'disabled'.
 */
import { describe, expect, it } from 'vitest';
import * as ortNode from 'onnxruntime-node';
import { collectStats } from '../../src/calibrate/collect.js';
import { useRuntime } from '../../src/runtime/ort.js';
import { memorySource } from '../../src/data/memory.js';
import { buildModel, randomSamples, randomWeight } from '../helpers/build.js';

// Conv → Relu is what onnxruntime fuses at 'extended' and above (FusedConv), and 16-channel Convs run
// in its NCHWc layout at 'all'; c, the Conv output before the Relu, is watched.
const model = buildModel({
  inputs: [{ name: 'x', dims: [1, 8, 24, 24] }],
  outputs: [{ name: 'y' }],
  initializers: [randomWeight('w1', [16, 8, 3, 3], 1), randomWeight('b1', [16], 2, 0.1), randomWeight('w2', [16, 16, 3, 3], 3)],
  nodes: [
    { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
    { opType: 'Relu', inputs: ['c'], outputs: ['r'] },
    { opType: 'Conv', inputs: ['r', 'w2'], outputs: ['d'], attrs: { pads: [1, 1, 1, 1] } },
    { opType: 'Add', inputs: ['d', 'c'], outputs: ['y'] },
  ],
});
const tensors = ['x', 'c', 'r', 'd', 'y'];
const size = 16 * 24 * 24;
const sizes = new Map([['x', 8 * 24 * 24], ...['c', 'r', 'd', 'y'].map((t) => [t, size] as [string, number])]);
const source = memorySource(randomSamples('x', [1, 8, 24, 24], 6, 5));
const indices = [0, 1, 2, 3, 4, 5];
const collect = (optimization: 'disabled' | 'all') =>
  collectStats(model, tensors, source, indices, { needs: { histogram: true, fixedHistogram: true }, runner: { threads: 1, optimization }, sizes, valuesPerSample: 1024 });

describe('calibration sessions at onnxruntime level all', () => {
  it('see every watched tensor with the values of the unoptimized graph (up to float rounding)', async () => {
    const [plain, optimized] = [await collect('disabled'), await collect('all')];
    // Not fused into the Relu after it: the Conv output keeps its negative values.
    expect(plain.get('c')!.min).toBeLessThan(0);
    for (const t of tensors) {
      const a = plain.get(t)!;
      const b = optimized.get(t)!;
      const span = a.max - a.min;
      expect(Math.abs(b.min - a.min)).toBeLessThanOrEqual(1e-5 * span);
      expect(Math.abs(b.max - a.max)).toBeLessThanOrEqual(1e-5 * span);
      // The same subsampled positions: the histograms differ at most by values that rounding moved across an edge.
      const ha = a.histogram!;
      const hb = b.histogram!;
      expect(hb.total).toBe(ha.total);
      let moved = 0;
      for (let j = 0; j < ha.counts.length; j++) moved += Math.abs(ha.counts[j]! - hb.counts[j]!);
      expect(moved).toBeLessThanOrEqual(0.001 * ha.total);
    }
  });
});

describe('calibration on onnxruntime-web (WebAssembly, under Node)', () => {
  // onnxruntime-web refuses a feed its model lacks (onnxruntime-node ignores it): the subsample offset goes
  // only to the session whose model takes it, also when a pass fetches min and max alone (entropy's first).
  it('runs min/max alone, and min/max then subsampled values, with the ranges onnxruntime-node finds', async () => {
    const ortWeb = await import('onnxruntime-web');
    ortWeb.env.wasm.numThreads = 1;
    const run = (needs: Parameters<typeof collectStats>[4]['needs']) => collectStats(model, tensors, source, indices, { needs, runner: { threads: 1 }, sizes, valuesPerSample: 1024 });
    const node = await run({});
    useRuntime({ Tensor: ortWeb.Tensor, InferenceSession: { create: (m, o) => ortWeb.InferenceSession.create(m as Uint8Array, { ...o, executionProviders: ['wasm'] }) } });
    let web: Awaited<ReturnType<typeof run>>[];
    try {
      web = [await run({}), await run({ histogram: true, fixedHistogram: true })];
    } finally {
      useRuntime(ortNode);
    }
    for (const stats of web)
      for (const t of tensors) {
        const [a, b] = [node.get(t)!, stats.get(t)!];
        expect(Math.abs(b.min - a.min)).toBeLessThanOrEqual(1e-5 * (a.max - a.min));
        expect(Math.abs(b.max - a.max)).toBeLessThanOrEqual(1e-5 * (a.max - a.min));
      }
    expect(web[1]!.get('c')!.histogram!.total).toBeGreaterThan(0);
  });
});

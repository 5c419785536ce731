/**
 * Static quantization below 8 bits (--weight-bits, --activation-bits) on a small CNN built here:
 * 4-bit weights stored as int4 at opset 21 and run by onnxruntime; 3-bit weights in int4 storage keep
 * to −3…3; 4-bit activations held in uint8 (0…15), or stored as uint4 when asked; 6-bit weights inside int8; 16-bit activations; the TensorRT
 * target refuses what TensorRT does not run; a plan with 4-bit entries round-trips.
 */
import { describe, expect, it } from 'vitest';
import type { ModelProto, TensorProto } from 'onnx-buf';
import { memorySource } from '../src/data/memory.js';
import { DT } from '../src/onnx/dtype.js';
import { readTensor } from '../src/onnx/tensor.js';
import { parsePlan } from '../src/plan/json.js';
import { quantize, type QuantizeOptions } from '../src/quantize.js';
import path from 'node:path';
import { buildModel, randomSamples, randomWeight, runModel, writeCliInputs } from './helpers/build.js';
import { onnxq } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { cnn } from './refine/cnn.js';

const data = memorySource(randomSamples('x', [1, 3, 16, 16], 24, 6));
const run = (o: QuantizeOptions) => quantize(buildModel(cnn), data, { calibSamples: 20, ...o });

/** The stored integers of every quantized weight (DequantizeLinear of an initializer), by element type. */
function storedWeights(m: ModelProto): TensorProto[] {
  const inits = new Map(m.graph!.initializer.map((t) => [t.name, t]));
  return m.graph!.node.filter((n) => n.opType === 'DequantizeLinear' && inits.has(n.input[0]!) && inits.get(n.input[0]!)!.dataType !== DT.INT32).map((n) => inits.get(n.input[0]!)!);
}

describe('below 8 bits', () => {
  it('stores 4-bit weights as int4 at opset 21, and onnxruntime runs the model', async () => {
    const r = await run({ weightBits: 4 });
    expect(r.model.opsetImport.find((o) => o.domain === '')!.version).toBe(21n);
    const ws = storedWeights(r.model);
    expect(ws.length).toBe(3);
    for (const w of ws) expect(w.dataType).toBe(DT.INT4);
    for (const w of ws) expect(Math.min(...(readTensor(w).data as Int8Array))).toBeGreaterThanOrEqual(-8);
    const eight = await run({});
    expect(r.validation!.outputs[0]!.sqnr).toBeGreaterThan(15);
    expect(r.validation!.outputs[0]!.sqnr).toBeLessThan(eight.validation!.outputs[0]!.sqnr);
    const out = await runModel(r.model, (await data.load(0)) as never);
    expect(out.y!.length).toBe(10);
  });

  it('keeps 3-bit weights to −3…3 in int4 storage, and 6-bit weights to −31…31 in int8', async () => {
    const three = await run({ weightBits: 3 });
    for (const w of storedWeights(three.model)) {
      expect(w.dataType).toBe(DT.INT4);
      const v = readTensor(w).data as Int8Array;
      expect(Math.min(...v)).toBeGreaterThanOrEqual(-3);
      expect(Math.max(...v)).toBeLessThanOrEqual(3);
      expect(Math.max(...v)).toBe(3); // the range is used, not only allowed
    }
    expect(Object.values(three.plan.weights).every((e) => e.bits === 3 && e.params!.bits === 3)).toBe(true);
    const six = await run({ weightBits: 6 });
    for (const w of storedWeights(six.model)) {
      expect(w.dataType).toBe(DT.INT8);
      const v = readTensor(w).data as Int8Array;
      expect(Math.max(...v.map(Math.abs))).toBe(31);
    }
    expect(six.model.opsetImport.find((o) => o.domain === '')!.version).toBeLessThan(21n);
  });

  it('holds 4-bit activations in uint8 (0…15), stores them as uint4 when asked, and 16-bit ones as uint16', async () => {
    const zeroPointTypes = (m: ModelProto) => {
      const inits = new Map(m.graph!.initializer.map((t) => [t.name, t]));
      return new Set(m.graph!.node.filter((n) => n.opType === 'QuantizeLinear').map((n) => inits.get(n.input[2]!)!.dataType));
    };
    const a4 = await run({ activationBits: 4, weightBits: 4 });
    expect(zeroPointTypes(a4.model)).toEqual(new Set([DT.UINT8]));
    for (const e of Object.values(a4.plan.activations)) expect(e.params!.zeroPoint[0]!).toBeLessThanOrEqual(15);
    expect(a4.validation!.outputs[0]!.sqnr).toBeGreaterThan(5);
    const stored = await run({ activationBits: 4, weightBits: 4, activationType: 'uint4' });
    expect(zeroPointTypes(stored.model)).toEqual(new Set([DT.UINT4]));
    // The same integers either way: only the container differs.
    expect(stored.validation!.outputs[0]!.sqnr).toBeCloseTo(a4.validation!.outputs[0]!.sqnr, 3);
    const a16 = await run({ activationBits: 16 });
    expect(Object.values(a16.plan.activations)[0]!.dtype).toBe('uint16');
    expect(a16.validation!.outputs[0]!.sqnr).toBeGreaterThan((await run({})).validation!.outputs[0]!.sqnr);
  });

  it('refuses uint4 activations next to a MaxPool, which onnxruntime 1.30 cannot run, and says what works', async () => {
    const pooled = buildModel({
      inputs: [{ name: 'x', dims: [1, 3, 16, 16] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'MaxPool', name: 'pool', inputs: ['c1'], outputs: ['p1'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { opType: 'Conv', inputs: ['p1', 'w2'], outputs: ['y'] },
      ],
      initializers: [randomWeight('w1', [4, 3, 3, 3], 1), randomWeight('w2', [2, 4, 1, 1], 2)],
    });
    await expect(quantize(pooled, data, { activationBits: 4, activationType: 'uint4', calibSamples: 8 })).rejects.toThrow(
      /cannot run MaxPool 'pool' next to uint4 activations.*Drop --activation-type: 4-bit activations are then held in uint8/,
    );
    const held = await quantize(pooled, data, { activationBits: 4, calibSamples: 8 });
    expect(held.validation!.outputs[0]!.sqnr).toBeGreaterThan(5);
  });

  it('reads a plan with 4-bit and 3-bit entries back, and refuses bits its type cannot hold', async () => {
    const r = await run({ weightBits: 3 });
    const again = await run({ plan: parsePlan(JSON.stringify(r.plan), 'plan.json') });
    expect(again.validation!.outputs[0]!.sqnr).toBe(r.validation!.outputs[0]!.sqnr);
    const bad = structuredClone(r.plan);
    Object.values(bad.weights)[0]!.bits = 5;
    expect(() => parsePlan(JSON.stringify(bad), 'plan.json')).toThrow(/has bits 5; int4 holds 2 to 4/);
  });

  it('says in the CLI summary what the widths mean; --weight-type int4 is 4-bit weights', () => {
    const dir = tempDir('onnxq-lowbit-');
    const { model, calib } = writeCliInputs(dir, buildModel(cnn), randomSamples('x', [1, 3, 16, 16], 24, 6));
    const three = onnxq(['quantize', model, '-o', path.join(dir, 'w3.onnx'), '--calib', calib, '--weight-bits', '3']);
    expect(three.code, three.stderr).toBe(0);
    expect(three.stdout).toMatch(/weights: 3-bit values stored as int4 \(-3…3\): the model simulates 3-bit arithmetic/);
    const int4 = onnxq(['quantize', model, '-o', path.join(dir, 'w4.onnx'), '--calib', calib, '--weight-type', 'int4']);
    expect(int4.code, int4.stderr).toBe(0);
    expect(int4.stdout).toMatch(/weights: stored as int4 \(opset 21\)/);
    expect(int4.stdout).toMatch(/opset 13 → 21|opset \d+ → 21/);
  });

  it('refuses widths out of range, and on TensorRT what TensorRT does not run', async () => {
    await expect(run({ weightBits: 1 })).rejects.toThrow(/--weight-bits takes 2 to 8/);
    await expect(run({ activationBits: 3 })).rejects.toThrow(/--activation-bits takes 4 to 16/);
    await expect(run({ weightBits: 6, weightType: 'int4' })).rejects.toThrow(/--weight-bits 6 does not fit in int4/);
    await expect(run({ target: 'tensorrt', weightBits: 4 })).rejects.toThrow(/tensorrt runs 4-bit weights only in Gemm and MatMul/);
    await expect(run({ target: 'tensorrt', weightType: 'int4' })).rejects.toThrow(/tensorrt runs 4-bit weights only in Gemm and MatMul/);
    await expect(run({ target: 'tensorrt', weightBits: 6 })).rejects.toThrow(/tensorrt runs 8-bit weights/);
    await expect(run({ target: 'tensorrt', activationBits: 16 })).rejects.toThrow(/tensorrt runs int8 activations only/);
    const gemm = await run({ target: 'tensorrt', weightBits: 4, opTypes: ['Gemm'] });
    expect(storedWeights(gemm.model).map((w) => w.dataType)).toEqual([DT.INT4]);
  });
});

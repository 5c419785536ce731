import fs from 'node:fs';
import { create } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import {
  GraphProtoSchema,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { OnnxqError } from '../src/errors.js';
import { irVersionForOpset, opsetVersion } from '../src/ir/model.js';
import { getAttr, makeNode, setAttr, type AttrValue } from '../src/ir/node.js';
import { makeValueInfo, type Dim } from '../src/ir/types.js';
import { decodeModel, encodeModel } from '../src/onnx/codec.js';
import { DT, halfToFloat } from '../src/onnx/dtype.js';
import { floatTensor, int64Tensor } from '../src/onnx/tensor.js';
import { forEachGraph } from '../src/onnx/walk.js';
import { floatToHalf } from '../src/onnx/dtype.js';
import { upgradeOpset } from '../src/passes/upgrade-opset/index.js';
import { PADDLE_MODELS as PADDLE } from '../demo/paddle-models.js';

// ---------------------------------------------------------------------------------------------
// helpers

type Feeds = Record<string, ort.Tensor>;

interface GraphParts {
  node: NodeProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  initializer?: TensorProto[];
}

function model(opset: number, graph: GraphParts, ir = irVersionForOpset(opset)): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: BigInt(ir),
    producerName: 'onnxq-test',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
    graph: create(GraphProtoSchema, { name: 'g', ...graph }),
  });
}

function node(opType: string, inputs: string[], outputs: string[], attrs?: Record<string, AttrValue>, name?: string): NodeProto {
  return makeNode({ opType, inputs, outputs, attrs, name });
}

/** Float attributes (makeAttr would write an integral number such as 0 as INT). */
function floatAttrs(n: NodeProto, attrs: Record<string, number>): NodeProto {
  for (const [k, v] of Object.entries(attrs)) setAttr(n, k, v, 'float');
  return n;
}

const f32 = (name: string, shape?: Dim[]) => makeValueInfo(name, { dtype: DT.FLOAT, shape });

/** Deterministic pseudo-random floats in [lo, hi). */
function random(n: number, seed = 1, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

function floatInput(dims: number[], seed = 1, lo = -1, hi = 1): ort.Tensor {
  return new ort.Tensor('float32', random(dims.reduce((a, b) => a * b, 1), seed, lo, hi), dims);
}

async function run(m: ModelProto, feeds: Feeds, options?: ort.InferenceSession.SessionOptions): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(encodeModel(m).model, options);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const copy = (m: ModelProto) => decodeModel(encodeModel(m).model, 'copy');

/** Largest |a-b| / max(1, |a|) over all elements. */
function relErr(a: ort.Tensor, b: ort.Tensor): number {
  expect(b.dims).toEqual(a.dims);
  expect(b.type).toBe(a.type);
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const p = Number(x[i]);
    const q = Number(y[i]);
    if (Number.isNaN(p) && Number.isNaN(q)) continue;
    worst = Math.max(worst, Math.abs(p - q) / Math.max(1, Math.abs(p)));
  }
  return worst;
}

/** Upgrades a copy of `m`, runs both on `feeds` and checks the outputs agree; returns the upgraded model. */
async function expectSameOutputs(
  m: ModelProto,
  target: number,
  feeds: Feeds,
  tolerance = 0,
  options?: ort.InferenceSession.SessionOptions,
): Promise<ModelProto> {
  const up = copy(m);
  const report = upgradeOpset(up, target);
  expect(report.to).toBe(target);
  expect(opsetVersion(up)).toBe(target);
  expect(Number(up.irVersion)).toBeGreaterThanOrEqual(irVersionForOpset(target));
  const before = await run(m, feeds, options);
  const after = await run(up, feeds, options);
  expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
  for (const k of Object.keys(before)) expect(relErr(before[k]!, after[k]!), `output ${k}`).toBeLessThanOrEqual(tolerance);
  return up;
}

function allNodes(m: ModelProto): NodeProto[] {
  const out: NodeProto[] = [];
  forEachGraph(m.graph!, (g) => out.push(...g.node));
  return out;
}

/** Attributes that a newer schema moved to inputs or removed; none may survive an upgrade to 13. */
const REMOVED_BY_13: Record<string, string[]> = {
  Slice: ['starts', 'ends', 'axes'],
  Clip: ['min', 'max'],
  Pad: ['pads', 'value', 'paddings'],
  Squeeze: ['axes'],
  Unsqueeze: ['axes'],
  Split: ['split'],
  ReduceSum: ['axes'],
  TopK: ['k'],
  Dropout: ['ratio', 'is_test'],
  BatchNormalization: ['spatial', 'is_test', 'consumed_inputs'],
  Upsample: ['scales'],
};

function expectNoRemovedForms(m: ModelProto): void {
  for (const n of allNodes(m)) {
    expect(['Upsample', 'Scatter'], `node ${n.name}`).not.toContain(n.opType);
    for (const a of REMOVED_BY_13[n.opType] ?? []) expect(getAttr(n, a), `${n.opType} ${n.name} keeps '${a}'`).toBeUndefined();
  }
}

const opTypes = (m: ModelProto) => allNodes(m).map((n) => n.opType);

// ---------------------------------------------------------------------------------------------

describe('upgradeOpset on the PaddleOCR models', () => {
  const cases = [
    { name: 'rec', file: PADDLE.rec, dims: [1, 3, 48, 320], opset: 9 },
    { name: 'cls', file: PADDLE.cls, dims: [1, 3, 48, 192], opset: 9 },
    { name: 'det', file: PADDLE.det, dims: [1, 3, 320, 320], opset: 11 },
  ];
  for (const c of cases)
    it(`upgrades ${c.name} from opset ${c.opset} to 13 with the same outputs`, async () => {
      const m = decodeModel(fs.readFileSync(c.file), c.file);
      expect(opsetVersion(m)).toBe(c.opset);
      const up = await expectSameOutputs(m, 13, { x: floatInput(c.dims, 7, 0, 1) });
      expectNoRemovedForms(up);
    });

  it('upgrades rec to 18, where ReduceMean takes its axes as an input', async () => {
    const m = decodeModel(fs.readFileSync(PADDLE.rec), PADDLE.rec);
    // Unoptimized: from opset 17 on, onnxruntime fuses the ReduceMean/Sub/Pow/Sqrt/Div chains into
    // LayerNormalization, whose rounding differs by a few ulp; the converted graph itself is exact.
    const up = await expectSameOutputs(m, 18, { x: floatInput([1, 3, 48, 320], 7, 0, 1) }, 0, {
      graphOptimizationLevel: 'disabled',
    });
    for (const n of allNodes(up).filter((n) => n.opType === 'ReduceMean')) expect(n.input).toHaveLength(2);
  });

  it('reports what it rewrote in the recognition model', () => {
    const m = decodeModel(fs.readFileSync(PADDLE.rec), PADDLE.rec);
    const report = upgradeOpset(m, 13);
    expect(report.from).toBe(9);
    const changed = Object.fromEntries(report.changed.map((c) => [c.op, c.count]));
    expect(changed).toMatchObject({ Slice: 10, Clip: 28, Squeeze: 7 });
    // Its Softmax nodes all work on the last axis, so none needs the Flatten/Reshape rewrite.
    expect(opTypes(m)).not.toContain('Flatten');
  });

  it('leaves a model at or above the target alone', () => {
    const m = decodeModel(fs.readFileSync(PADDLE.det), PADDLE.det);
    const bytes = encodeModel(m).model;
    expect(upgradeOpset(m, 11)).toEqual({ from: 11, to: 11, changed: [] });
    expect(upgradeOpset(m, 10)).toEqual({ from: 11, to: 11, changed: [] });
    expect(Buffer.compare(Buffer.from(encodeModel(m).model), Buffer.from(bytes))).toBe(0);
  });
});

describe('upgradeOpset on single ops', () => {
  it('Slice-1: attributes become int64 inputs, including an INT64_MAX end', async () => {
    const m = model(9, {
      node: [
        node('Slice', ['x'], ['a'], { starts: [0, 1], ends: [1, 4], axes: [0, 2] }),
        node('Slice', ['x'], ['b'], { starts: [1, -3], ends: [0, -1] }),
      ],
      input: [f32('x', [2, 5, 6])],
      output: [f32('a'), f32('b')],
    });
    getAttr(m.graph!.node[1]!, 'ends')!.ints = [2n ** 63n - 1n, -1n]; // "to the end", exact only as a bigint
    const up = await expectSameOutputs(m, 13, { x: floatInput([2, 5, 6]) });
    expectNoRemovedForms(up);
    expect(up.graph!.node.map((n) => n.input.length)).toEqual([4, 3]);
  });

  it('experimental ImageScaler, Affine and Crop (as in OnnxMLTools exports) become Mul/Add and Slice', async () => {
    const m = model(7, {
      node: [
        floatAttrs(node('ImageScaler', ['x'], ['a'], { bias: { floats: [1, -2, 3] } }, 'preprocess'), { scale: 0.5 }),
        floatAttrs(node('Affine', ['a'], ['b'], {}, 'affine'), { alpha: 1.5, beta: -0.25 }),
        node('Crop', ['b'], ['y1'], { border: [1, 2, 3, 1] }, 'crop1'),
        node('Crop', ['b'], ['y2'], { border: [2, 1, 0, 0], scale: [4, 3] }, 'crop2'),
        node('Crop', ['b'], ['y3'], { border: [0, 0, 0, 0] }, 'crop3'),
      ],
      input: [f32('x', [1, 3, 8, 9])],
      output: [f32('y1'), f32('y2'), f32('y3')],
    });
    const up = await expectSameOutputs(m, 13, { x: floatInput([1, 3, 8, 9]) });
    expect(opTypes(up)).toEqual(['Mul', 'Add', 'Mul', 'Add', 'Slice', 'Slice', 'Slice']);
    expectNoRemovedForms(up);
  });

  it('Clip-6: min/max become inputs, a missing min stays empty', async () => {
    const m = model(9, {
      node: [floatAttrs(node('Clip', ['x'], ['a']), { min: 0, max: 6 }), floatAttrs(node('Clip', ['x'], ['b']), { max: 0.25 })],
      input: [f32('x', [3, 4])],
      output: [f32('a'), f32('b')],
    });
    const up = await expectSameOutputs(m, 13, { x: floatInput([3, 4], 2, -8, 8) });
    expect(up.graph!.node[1]!.input).toEqual(['x', '', expect.any(String)]);
  });

  for (const mode of ['constant', 'reflect', 'edge'])
    it(`Pad-2 (${mode}): pads and value become inputs`, async () => {
      const m = model(9, {
        node: [node('Pad', ['x'], ['y'], { pads: [0, 0, 1, 2, 0, 0, 2, 1], mode, value: 1.5 })],
        input: [f32('x', [1, 2, 4, 5])],
        output: [f32('y')],
      });
      const up = await expectSameOutputs(m, 13, { x: floatInput([1, 2, 4, 5]) });
      expectNoRemovedForms(up);
    });

  it('Squeeze-11 / Unsqueeze-11: axes become an input', async () => {
    const m = model(11, {
      node: [node('Squeeze', ['x'], ['s'], { axes: [1] }), node('Unsqueeze', ['s'], ['u'], { axes: [0, 3] }), node('Squeeze', ['u'], ['all'])],
      input: [f32('x', [2, 1, 3])],
      output: [f32('u'), f32('all')],
    });
    const up = await expectSameOutputs(m, 13, { x: floatInput([2, 1, 3]) });
    expectNoRemovedForms(up);
  });

  const softmaxCases: { op: string; axis?: number; dims: number[]; rewritten: boolean }[] = [
    { op: 'Softmax', axis: 1, dims: [2, 3, 4], rewritten: true },
    { op: 'Softmax', axis: 1, dims: [2, 3, 4, 5], rewritten: true },
    { op: 'Softmax', dims: [2, 3, 4], rewritten: true }, // default axis 1
    { op: 'Softmax', axis: 0, dims: [3, 4], rewritten: true },
    { op: 'LogSoftmax', axis: 2, dims: [2, 3, 4, 5], rewritten: true },
    { op: 'Hardmax', axis: 1, dims: [2, 3, 4], rewritten: true },
    { op: 'Softmax', axis: 2, dims: [2, 3, 4], rewritten: false },
    { op: 'Softmax', axis: -1, dims: [2, 3, 4], rewritten: false },
    { op: 'LogSoftmax', axis: 1, dims: [2, 3, 1, 1], rewritten: false }, // trailing ones
  ];
  for (const c of softmaxCases)
    it(`${c.op}-1 axis=${c.axis ?? 'default'} on [${c.dims}] keeps the coerce-to-2-D meaning`, async () => {
      const m = model(9, {
        node: [node(c.op, ['x'], ['y'], c.axis === undefined ? {} : { axis: c.axis })],
        input: [f32('x', c.dims)],
        output: [f32('y')],
      });
      const up = await expectSameOutputs(m, 13, { x: floatInput(c.dims, 3, -4, 4) });
      expect(opTypes(up).includes('Flatten')).toBe(c.rewritten);
    });

  it('Softmax-11 on a tensor of unknown rank takes the Flatten/Reshape path', async () => {
    // The input is declared without a shape, so nothing tells whether axis 1 is the last one.
    const m = model(11, {
      node: [node('Softmax', ['x'], ['y'], { axis: 1 })],
      input: [makeValueInfo('x', { dtype: DT.FLOAT })],
      output: [makeValueInfo('y', { dtype: DT.FLOAT })],
    });
    const up = await expectSameOutputs(m, 13, { x: floatInput([2, 3, 4]) });
    expect(opTypes(up)).toEqual(['Shape', 'Flatten', 'Softmax', 'Reshape']);
  });

  for (const mode of ['nearest', 'linear'])
    it(`Upsample-9 (${mode}) becomes Resize with Upsample's coordinates`, async () => {
      const m = model(9, {
        node: [node('Upsample', ['x', 'scales'], ['y'], { mode })],
        input: [f32('x', [1, 2, 3, 4])],
        output: [f32('y')],
        initializer: [floatTensor('scales', [4], [1, 1, 2, 3])],
      });
      const up = await expectSameOutputs(m, 13, { x: floatInput([1, 2, 3, 4]) });
      expect(opTypes(up)).toEqual(['Resize']);
      expectNoRemovedForms(up);
    });

  it('Upsample-7 (scales attribute) becomes Resize', async () => {
    const m = model(7, {
      node: [node('Upsample', ['x'], ['y'], { mode: 'nearest', scales: { floats: [1, 1, 2, 2] } })],
      input: [f32('x', [1, 2, 3, 4])],
      output: [f32('y')],
    });
    const up = await expectSameOutputs(m, 13, { x: floatInput([1, 2, 3, 4]) });
    expect(opTypes(up)).toEqual(['Resize']);
  });

  const resizeCases = [
    { mode: 'nearest', scales: [1, 1, 2, 2] },
    { mode: 'nearest', scales: [1, 1, 1.7, 2.5] },
    { mode: 'nearest', scales: [1, 1, 0.5, 0.6] },
    { mode: 'linear', scales: [1, 1, 1.5, 2.5] },
    { mode: 'linear', scales: [1, 1, 0.5, 0.75] },
  ];
  for (const c of resizeCases)
    for (const target of [11, 13])
      it(`Resize-10 ${c.mode} scales [${c.scales}] → ${target} matches onnxruntime's opset-10 rounding`, async () => {
        const m = model(10, {
          node: [node('Resize', ['x', 'scales'], ['y'], { mode: c.mode })],
          input: [f32('x', [1, 2, 6, 7])],
          output: [f32('y')],
          initializer: [floatTensor('scales', [4], c.scales)],
        });
        await expectSameOutputs(m, target, { x: floatInput([1, 2, 6, 7]) });
      });

  it('Resize-10 with scales computed at run time keeps floor rounding', async () => {
    const m = model(10, {
      node: [node('Identity', ['s'], ['scales']), node('Resize', ['x', 'scales'], ['y'], { mode: 'nearest' })],
      input: [f32('x', [1, 1, 3, 4]), f32('s', [4])],
      output: [f32('y')],
    });
    // x = 0 … 11 in a 3×4 grid, upsampled ×2 and ×1.5. Resize-10 reads source pixel ⌊i/scale⌋; Resize-11's
    // default (round_prefer_floor, half_pixel) would pick other columns: 0 1 1 2 3 3 instead of 0 0 1 2 2 3.
    const feeds = { x: new ort.Tensor('float32', Float32Array.from({ length: 12 }, (_, i) => i), [1, 1, 3, 4]), s: new ort.Tensor('float32', Float32Array.from([1, 1, 2, 1.5]), [4]) };
    const up = await expectSameOutputs(m, 13, feeds);
    const resize = up.graph!.node.find((n) => n.opType === 'Resize')!;
    expect(new TextDecoder().decode(getAttr(resize, 'nearest_mode')!.s)).toBe('floor');
    const cols = [0, 0, 1, 2, 2, 3];
    const want = [0, 0, 1, 1, 2, 2].flatMap((r) => cols.map((c) => r * 4 + c));
    expect(Array.from((await run(up, feeds)).y!.data as Float32Array)).toEqual(want);
  });

  const bnParams = (c: number): TensorProto[] => [
    floatTensor('scale', [c], random(c, 11, 0.5, 1.5)),
    floatTensor('bias', [c], random(c, 12)),
    floatTensor('mean', [c], random(c, 13)),
    floatTensor('var', [c], random(c, 14, 0.1, 2)),
  ];

  const bnNode = (attrs: Record<string, AttrValue>, outputs = ['y']) =>
    node('BatchNormalization', ['x', 'scale', 'bias', 'mean', 'var'], outputs, { epsilon: 0.001, momentum: 0.9, ...attrs });
  const bnModel = (opset: number, n: NodeProto) =>
    model(opset, { node: [n], input: [f32('x', [2, 3, 4, 5])], output: [f32('y')], initializer: bnParams(3) });

  for (const opset of [7, 9])
    it(`BatchNormalization-${opset}: inference stays inference, optional outputs become training_mode=1 (→ 15)`, async () => {
      const x = { x: floatInput([2, 3, 4, 5]) };
      const inference = await expectSameOutputs(bnModel(opset, bnNode(opset === 7 ? { spatial: 1 } : {})), 15, x);
      expect(getAttr(inference.graph!.node[0]!, 'training_mode')).toBeUndefined();
      expectNoRemovedForms(inference);
      // Before 14 the presence of the statistics outputs meant training mode (batch statistics),
      // however unused they are; onnxruntime runs it so, and so must the upgraded node.
      const m = bnModel(opset, bnNode({}, ['y', 'm_out', 'v_out', 'sm', 'sv']));
      m.graph!.output.push(f32('m_out'), f32('v_out'));
      const up = await expectSameOutputs(m, 15, x);
      expect(up.graph!.node[0]!.output).toEqual(['y', 'm_out', 'v_out']);
      expect(getAttr(up.graph!.node[0]!, 'training_mode')?.i).toBe(1n);
    });

  it('BatchNormalization and Dropout lose legacy attributes that exporters left behind', async () => {
    // onnxruntime refuses these originals (the attributes are not in their schemas), so the
    // upgraded model is compared with the same graph written without them.
    const legacy = { spatial: 1, is_test: 1, consumed_inputs: [0, 0, 0, 1, 1] };
    const up = copy(bnModel(9, bnNode(legacy)));
    upgradeOpset(up, 13);
    expectNoRemovedForms(up);
    const x = { x: floatInput([2, 3, 4, 5]) };
    expect(relErr((await run(bnModel(9, bnNode({})), x)).y!, (await run(up, x)).y!)).toBe(0);

    const drop = (attrs: Record<string, AttrValue>) =>
      model(7, { node: [node('Dropout', ['x'], ['y'], attrs)], input: [f32('x', [2, 3, 4, 5])], output: [f32('y')] });
    const upDrop = copy(drop({ ratio: 0.25, is_test: 1 }));
    upgradeOpset(upDrop, 13);
    expectNoRemovedForms(upDrop);
    expect(relErr((await run(drop({ ratio: 0.25 }), x)).y!, (await run(upDrop, x)).y!)).toBe(0);
  });

  it('BatchNormalization-7 spatial=0 becomes Flatten → BatchNormalization → Reshape', async () => {
    const c = 3 * 2 * 2;
    const params = bnParams(c).map((t) => Object.assign(t, { dims: [3n, 2n, 2n] }));
    const m = model(7, {
      node: [node('BatchNormalization', ['x', 'scale', 'bias', 'mean', 'var'], ['y'], { spatial: 0 })],
      input: [f32('x', [2, 3, 2, 2])],
      output: [f32('y')],
      initializer: params,
    });
    const up = await expectSameOutputs(m, 13, { x: floatInput([2, 3, 2, 2]) });
    expect(opTypes(up)).toEqual(['Shape', 'Flatten', 'BatchNormalization', 'Reshape']);
    // The [3, 2, 2] parameters were replaced by flat copies; the originals are gone.
    expect(up.graph!.initializer.map((t) => t.dims.map(Number))).toEqual([[12], [12], [12], [12]]);
  });

  it('Dropout-7 with a ratio and an unused mask → 13', async () => {
    const m = model(7, {
      node: [node('Dropout', ['x'], ['d', 'mask'], { ratio: 0.3 }), node('Relu', ['d'], ['y'])],
      input: [f32('x', [2, 6])],
      output: [f32('y')],
    });
    const up = await expectSameOutputs(m, 13, { x: floatInput([2, 6]) });
    expect(up.graph!.node[0]!.output).toEqual(['d']);
    expect(up.graph!.node[0]!.input).toHaveLength(2);
    expectNoRemovedForms(up);
  });

  it('Split-11 with a split attribute → 13, and an equal split → 18 gets num_outputs', async () => {
    const m = model(11, {
      node: [node('Split', ['x'], ['a', 'b'], { axis: 1, split: [2, 4] }), node('Split', ['x'], ['c', 'd', 'e'], { axis: 1 })],
      input: [f32('x', [2, 6])],
      output: [f32('a'), f32('b'), f32('c'), f32('d'), f32('e')],
    });
    const up13 = await expectSameOutputs(m, 13, { x: floatInput([2, 6]) });
    expectNoRemovedForms(up13);
    const up18 = await expectSameOutputs(m, 18, { x: floatInput([2, 6]) });
    expect(getAttr(up18.graph!.node[1]!, 'num_outputs')?.i).toBe(3n);
  });

  it('ReduceMean-13 → 18 and ReduceSum-11 → 13: axes become an input', async () => {
    const m = model(11, {
      node: [
        node('ReduceMean', ['x'], ['m'], { axes: [1], keepdims: 0 }),
        node('ReduceSum', ['x'], ['s'], { axes: [0, 2] }),
        node('ReduceMax', ['x'], ['all'], { keepdims: 0 }),
      ],
      input: [f32('x', [2, 3, 4])],
      output: [f32('m'), f32('s'), f32('all')],
    });
    const up = await expectSameOutputs(m, 18, { x: floatInput([2, 3, 4]) }, 1e-7);
    for (const n of up.graph!.node) expect(getAttr(n, 'axes')).toBeUndefined();
    expect(up.graph!.node.map((n) => n.input.length)).toEqual([2, 2, 1]);
  });

  it('TopK-1 (k attribute) → 11 and Scatter-9 → ScatterElements', async () => {
    const m = model(9, {
      node: [
        node('TopK', ['x'], ['v', 'i'], { axis: 1, k: 2 }),
        node('Scatter', ['x', 'idx', 'upd'], ['s'], { axis: 1 }),
      ],
      input: [f32('x', [2, 5])],
      output: [f32('v'), makeValueInfo('i', { dtype: DT.INT64 }), f32('s')],
      initializer: [int64Tensor('idx', [2, 2], [0, 4, 3, 1]), floatTensor('upd', [2, 2], [10, 20, 30, 40])],
    });
    const up = await expectSameOutputs(m, 13, { x: floatInput([2, 5]) });
    expect(opTypes(up)).toEqual(['TopK', 'ScatterElements']);
  });

  it('RoiAlign-10 → 16 keeps output_half_pixel, GridSample-16 → 20 renames its mode, DFT-17 → 20 keeps its axis', async () => {
    const roi = model(10, {
      node: [node('RoiAlign', ['x', 'rois', 'idx'], ['y'], { output_height: 3, output_width: 2, sampling_ratio: 2, spatial_scale: 0.5 })],
      input: [f32('x', [2, 3, 8, 8])],
      output: [f32('y')],
      initializer: [floatTensor('rois', [2, 4], [1, 1, 9, 7, 0.5, 2, 14, 13]), int64Tensor('idx', [2], [0, 1])],
    });
    const upRoi = await expectSameOutputs(roi, 16, { x: floatInput([2, 3, 8, 8]) });
    expect(getAttr(upRoi.graph!.node[0]!, 'coordinate_transformation_mode')).toBeDefined();

    const grid = model(16, {
      node: [node('GridSample', ['x', 'grid'], ['y'], { mode: 'bilinear', padding_mode: 'border' })],
      input: [f32('x', [1, 2, 5, 6])],
      output: [f32('y')],
      initializer: [floatTensor('grid', [1, 3, 4, 2], random(24, 21, -1.1, 1.1))],
    });
    await expectSameOutputs(grid, 20, { x: floatInput([1, 2, 5, 6]) });

    const dft = model(17, {
      node: [node('DFT', ['x'], ['y'], { axis: 2 })],
      input: [f32('x', [2, 3, 8, 1])],
      output: [f32('y')],
    });
    const upDft = await expectSameOutputs(dft, 20, { x: floatInput([2, 3, 8, 1]) }, 1e-6);
    expect(upDft.graph!.node[0]!.input).toEqual(['x', '', expect.any(String)]);
  });

  it('converts opset-9 Slice and Squeeze inside the branches of an If', async () => {
    const thenBranch = create(GraphProtoSchema, {
      name: 'then',
      node: [node('Slice', ['x'], ['t1'], { axes: [1], starts: [1], ends: [3] }), node('Squeeze', ['t1'], ['t'], { axes: [0] })],
      output: [f32('t')],
    });
    const elseBranch = create(GraphProtoSchema, {
      name: 'else',
      node: [node('Squeeze', ['z'], ['e'], { axes: [0] })],
      output: [f32('e')],
    });
    const m = model(9, {
      node: [node('If', ['cond'], ['y'], { then_branch: thenBranch, else_branch: elseBranch })],
      input: [f32('x', [1, 4]), f32('z', [1, 2]), makeValueInfo('cond', { dtype: DT.BOOL, shape: [] })],
      output: [f32('y')],
    });
    for (const flag of [true, false]) {
      const up = await expectSameOutputs(m, 13, {
        x: floatInput([1, 4]),
        z: floatInput([1, 2], 5),
        cond: new ort.Tensor('bool', Uint8Array.of(flag ? 1 : 0), []),
      });
      expectNoRemovedForms(up);
      const inner = allNodes(up).filter((n) => n.opType !== 'If');
      expect(inner.map((n) => n.input.length)).toEqual([4, 2, 2]);
    }
  });
});

describe('constants of the input type', () => {
  it('floatToHalf rounds to the nearest half, ties to even', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(2 ** -24)).toBe(1);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even
    for (const v of [...random(2000, 9, -65000, 65000), ...random(2000, 10, -0.001, 0.001)]) {
      const h = floatToHalf(v);
      const err = Math.abs(halfToFloat(h) - v);
      for (const n of [h - 1, h + 1]) if ((n & 0x7c00) !== 0x7c00 && n >= 0 && n <= 0xffff && (n ^ h) < 0x8000)
        expect(err, `value ${v}`).toBeLessThanOrEqual(Math.abs(halfToFloat(n) - v));
    }
  });
});

describe('upgradeOpset refusals', () => {
  it('names every experimental op in one error', () => {
    const m = model(7, {
      node: [
        floatAttrs(node('ScaledTanh', ['x'], ['a'], {}, 'squash'), { alpha: 2, beta: 0.5 }),
        floatAttrs(node('ParametricSoftplus', ['a'], ['b'], {}, 'soft1'), { alpha: 1, beta: 1 }),
        node('Relu', ['b'], ['y']),
      ],
      input: [f32('x', [1, 3, 8, 8])],
      output: [f32('y')],
    });
    let err: unknown;
    try {
      upgradeOpset(m, 13);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxqError);
    const e = err as OnnxqError;
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toMatch(/'squash' \(ScaledTanh\)/);
    expect(e.message).toMatch(/'soft1' \(ParametricSoftplus\)/);
    expect(e.message).toMatch(/opset 7 to 13/);
    expect(e.message).toMatch(/re-export/i);
  });

  it('refuses a change with no rewrite, naming the node and the versions', () => {
    const m = model(18, {
      node: [node('GroupNormalization', ['x', 's', 'b'], ['y'], { num_groups: 2 })],
      input: [f32('x', [1, 4, 2, 2])],
      output: [f32('y')],
      initializer: [floatTensor('s', [2], [1, 1]), floatTensor('b', [2], [0, 0])],
    });
    expect(() => upgradeOpset(m, 21)).toThrow(/GroupNormalization → 'y'.*GroupNormalization-18 → GroupNormalization-21/);
  });

  it('refuses a Resize-10 that both enlarges and shrinks, and an op the opset does not have', () => {
    const m = model(10, {
      node: [
        node('Resize', ['x', 'scales'], ['r'], { mode: 'nearest' }, 'mixed'),
        node('Gelu', ['r'], ['y'], {}, 'gelu'),
      ],
      input: [f32('x', [1, 1, 4, 4])],
      output: [f32('y')],
      initializer: [floatTensor('scales', [4], [1, 1, 2, 0.5])],
    });
    expect(() => upgradeOpset(m, 13)).toThrow(/'mixed' \(Resize\): Resize-10 → Resize-11[\s\S]*'gelu' \(Gelu\): Gelu does not exist at opset 10/);
  });

  it('refuses removed outputs that are still read (Dropout mask, BatchNormalization saved statistics)', () => {
    const m = model(9, {
      node: [
        node('Dropout', ['x'], ['d', 'mask'], {}, 'drop'),
        node('BatchNormalization', ['d', 's', 'b', 'm', 'v'], ['y', 'rm', 'rv', 'sm', 'sv'], {}, 'bn'),
        node('Add', ['mask', 'sv'], ['z']),
      ],
      input: [f32('x', [1, 2, 3])],
      output: [f32('y'), f32('z')],
      initializer: ['s', 'b', 'm', 'v'].map((n) => floatTensor(n, [2], [1, 1])),
    });
    expect(() => upgradeOpset(m, 14)).toThrow(/'drop' \(Dropout\): Dropout-7 → Dropout-10: its mask[\s\S]*'bn' \(BatchNormalization\): BatchNormalization-9 → BatchNormalization-14: its saved_mean\/saved_var outputs \(sv\)/);
  });

  it('refuses models older than opset 7 and targets it does not know', () => {
    expect(() => upgradeOpset(model(6, { node: [node('Relu', ['x'], ['y'])] }), 13)).toThrow(/opset 6/);
    expect(() => upgradeOpset(model(9, { node: [node('Relu', ['x'], ['y'])] }), 30)).toThrow(OnnxqError);
  });

  it('raises the IR version to what the target opset needs', () => {
    const m = model(7, { node: [node('Slice', ['x'], ['y'], { starts: [0], ends: [1] })], input: [f32('x', [3])], output: [f32('y')] }, 3);
    upgradeOpset(m, 8);
    expect(Number(m.irVersion)).toBe(3);
    expect(m.graph!.node[0]!.input).toEqual(['x']); // Slice changes at 10, not before
    upgradeOpset(m, 10);
    expect(Number(m.irVersion)).toBe(irVersionForOpset(10));
    expect(m.graph!.node[0]!.input).toHaveLength(3);
  });
});

/**
 * The command line as documented: inspect, quantize (with plan, ranges and TensorRT cache), --json,
 * and every bad input a user can give it — each a one-paragraph error, a non-zero exit code, and no
 * output file left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { GraphProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation } from 'onnx-buf';
import { readFloat32 } from '../src/onnx/tensor.js';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModelFile, loadModelFile } from '../src/node/files.js';
import { writeNpy } from '../src/data/npy-file.js';
import { zipSync } from 'fflate';
import { encodeNpy } from '../src/data/npy.js';
import { buildModel, randomFloats, randomWeight } from './helpers/build.js';
import { expectCleanFailure, onnxq } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

let dir: string;
let model: string;
let calib: string;

function listing(): string[] {
  return fs.readdirSync(dir).sort();
}

beforeAll(() => {
  dir = tempDir('onnxq-cli-');
  model = path.join(dir, 'net.onnx');
  saveModelFile(
    buildModel({
      inputs: [{ name: 'x', dims: [1, 3, 16, 16] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [8, 3, 3, 3], 1), randomWeight('b', [8], 2, 0.1), randomWeight('w2', [4, 8, 1, 1], 3)],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'Relu', inputs: ['c'], outputs: ['r'] },
        { opType: 'Sin', inputs: ['r'], outputs: ['s'] },
        { opType: 'Conv', inputs: ['s', 'w2'], outputs: ['y'] },
      ],
    }),
    model,
  );
  calib = path.join(dir, 'calib.npy');
  writeNpy(calib, { dtype: 'float32', dims: [18, 3, 16, 16], data: randomFloats(18 * 3 * 16 * 16, 5) });
});

describe('onnxq inspect', () => {
  it('prints inputs, outputs, opset, op counts and parameter bytes', () => {
    const r = onnxq(['inspect', model]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('x  float32 [1, 3, 16, 16]');
    expect(r.stdout).toContain('Conv 2');
    expect(r.stdout).toMatch(/parameters: 1\.0 KiB in 3 tensors/);
    const j = JSON.parse(onnxq(['inspect', model, '--json']).stdout);
    expect(j.opsets).toEqual([{ domain: 'ai.onnx', version: 13 }]);
    expect(j.parameters.bytes).toBe((8 * 27 + 8 + 32) * 4);
  });
});

describe('onnxq quantize', () => {
  it('writes the model, plan, ranges and TensorRT cache, and summarizes in JSON', () => {
    const out = path.join(dir, 'net.int8.onnx');
    const r = onnxq(['quantize', model, '-o', out, '--calib', calib, '--method', 'entropy', '--save-plan', path.join(dir, 'plan.json'), '--save-ranges', path.join(dir, 'ranges.json'), '--calib-cache', path.join(dir, 'net.calib'), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.validation.outputs[0].name).toBe('y');
    expect(j.validation.outputs[0].sqnr).toBeGreaterThan(25);
    expect(j.float).toEqual([{ node: 'Sin_2', op: 'Sin', reason: 'no quantization rule' }]);
    const cache = fs.readFileSync(path.join(dir, 'net.calib'), 'utf8').trim().split('\n');
    expect(cache[0]).toBe('TRT-8601-EntropyCalibration2');
    expect(cache.slice(1).map((l) => l.split(':')[0]).sort()).toEqual(['c', 'r', 's', 'x', 'y']);
    for (const l of cache.slice(1)) expect(l).toMatch(/^\S+: [0-9a-f]{8}$/);
    // The input x is uniform in [-1, 1): its amax is just below 1, so its step just below 1/127 (3c010204).
    const xHex = cache.find((l) => l.startsWith('x:'))!.split(' ')[1]!;
    const step = new DataView(Uint8Array.from(Buffer.from(xHex, 'hex')).buffer).getFloat32(0);
    expect(step).toBeGreaterThan(0.99 / 127);
    expect(step).toBeLessThanOrEqual(1 / 127);
    const ranges = JSON.parse(fs.readFileSync(path.join(dir, 'ranges.json'), 'utf8'));
    expect(ranges.w.kind).toBe('weight');
    expect(ranges.w.scale).toHaveLength(8);
    expect(loadModelFile(out).model.producerName).toBe('onnxq');
  });

  it('a model with external data in, --external-data out: validated against the float model read from its file', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'ext-ok-'));
    const ext = path.join(sub, 'net.onnx');
    // weights past the 1 KiB a tensor needs to go to the data file, in float and in int8
    const wide = buildModel({
      inputs: [{ name: 'x', dims: [1, 3, 16, 16] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [64, 3, 3, 3], 11), randomWeight('w2', [8, 64, 3, 3], 12)],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'Relu', inputs: ['c'], outputs: ['r'] },
        { opType: 'Conv', inputs: ['r', 'w2'], outputs: ['y'] },
      ],
    });
    saveModelFile(wide, ext, { externalData: true });
    const out = path.join(sub, 'net.int8.onnx');
    const r = onnxq(['quantize', ext, '-o', out, '--calib', calib, '--external-data', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.files).toEqual({ model: out, data: `${out}.data` });
    expect(j.validation.outputs[0].sqnr).toBeGreaterThan(25);
    expect(fs.readdirSync(sub).sort()).toEqual(['net.int8.onnx', 'net.int8.onnx.data', 'net.onnx', 'net.onnx.data']);
  });

  it('takes an edited plan back with --plan', () => {
    const planFile = path.join(dir, 'plan.json');
    const plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
    delete plan.weights.w2; // keep the second convolution's weight in float
    const edited = path.join(dir, 'plan-edited.json');
    fs.writeFileSync(edited, JSON.stringify(plan));
    const out = path.join(dir, 'net.edited.onnx');
    const r = onnxq(['quantize', model, '-o', out, '--calib', calib, '--plan', edited, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).quantized.weights).toBe(1);
    expect(loadModelFile(out).model.graph!.initializer.some((t) => t.name === 'w2')).toBe(true);
    // Options that build plans do nothing with --plan: a warning says so.
    const again = onnxq(['quantize', model, '-o', out, '--calib', calib, '--plan', edited, '--symmetric', '--method', 'mse', '--json']);
    expect(JSON.parse(again.stdout).warnings).toEqual(['--method, --symmetric had no effect: the plan from --plan decides what is quantized and how.']);
  });

  it('round-trips a resolved plan: --plan with the parameters --save-plan wrote gives the same graph; edited parameters are used as written', () => {
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'plan.json'), 'utf8'));
    expect(saved.format).toBe('onnxq-plan/2');
    expect(saved.weights.w.params.state).toBe('calibrated');
    expect(saved.weights.w.params.scale).toHaveLength(8);
    expect(saved.activations.x.params.min).toBeLessThan(0);
    const graphBytes = (f: string) => Buffer.from(toBinary(GraphProtoSchema, loadModelFile(f).model.graph!)).toString('hex');
    const again = path.join(dir, 'net.again.onnx');
    // Other calibration data: the plan's parameters decide, not the data.
    const other = path.join(dir, 'calib-other.npy');
    writeNpy(other, { dtype: 'float32', dims: [6, 3, 16, 16], data: randomFloats(6 * 3 * 16 * 16, 77, -3, 3) });
    expect(onnxq(['quantize', model, '-o', again, '--calib', other, '--plan', path.join(dir, 'plan.json'), '--json']).code).toBe(0);
    expect(graphBytes(again)).toBe(graphBytes(path.join(dir, 'net.int8.onnx')));
    // An edited scale is written as given; an entry marked float gets no Q/DQ; a plan of format 1 still reads.
    const edited = JSON.parse(JSON.stringify(saved));
    edited.activations.x.params.scale = [0.03125];
    edited.activations.s.params.state = 'float';
    const editedFile = path.join(dir, 'plan-params.json');
    fs.writeFileSync(editedFile, JSON.stringify(edited));
    const out = path.join(dir, 'net.params.onnx');
    expect(onnxq(['quantize', model, '-o', out, '--calib', calib, '--plan', editedFile]).code).toBe(0);
    const g = loadModelFile(out).model.graph!;
    const scaleOf = (input: string) => g.initializer.find((t) => t.name === g.node.find((n) => n.opType === 'QuantizeLinear' && n.input[0] === input)!.input[1])!;
    expect(readFloat32(scaleOf('x'))[0]).toBe(0.03125);
    expect(g.node.some((n) => n.opType === 'QuantizeLinear' && n.input[0] === 's')).toBe(false);
    const v1 = JSON.parse(JSON.stringify(saved));
    v1.format = 'onnxq-plan/1';
    for (const e of [...Object.values(v1.activations), ...Object.values(v1.weights)] as { params?: unknown }[]) delete e.params;
    fs.writeFileSync(path.join(dir, 'plan-v1.json'), JSON.stringify(v1));
    expect(onnxq(['quantize', model, '-o', path.join(dir, 'net.v1.onnx'), '--calib', calib, '--method', 'entropy', '--plan', path.join(dir, 'plan-v1.json')]).code).toBe(0);
    expect(graphBytes(path.join(dir, 'net.v1.onnx'))).toBe(graphBytes(path.join(dir, 'net.int8.onnx')));
  });

  it('refuses a plan whose entries do not fit the model, naming the entry', () => {
    const plan = JSON.parse(fs.readFileSync(path.join(dir, 'plan.json'), 'utf8'));
    const write = (edit: (p: typeof plan) => void) => {
      const copy = JSON.parse(JSON.stringify(plan));
      edit(copy);
      const f = path.join(dir, 'bad-plan.json');
      fs.writeFileSync(f, JSON.stringify(copy));
      return onnxq(['quantize', model, '-o', path.join(dir, 'bad-out.onnx'), '--calib', calib, '--plan', f]);
    };
    expectCleanFailure(write((p) => (p.weights.w.dtype = 'int3')), /weight "w" has dtype "int3"/);
    // int4 is a type static quantization writes; parameters resolved for int8 no longer fit it.
    expectCleanFailure(write((p) => (p.weights.w.dtype = 'int4')), /weight "w" has bits 8, but its entry uses 4/);
    expectCleanFailure(write((p) => (p.biases.b.weight = 'w2')), /bias "b" names weight "w2"/);
    expectCleanFailure(write((p) => (p.folded[0].input = 'x')), /folded entry for "Relu_1"/);
    expectCleanFailure(write((p) => (p.weights.w.axis = 4)), /axis 4 does not exist/);
    expectCleanFailure(write((p) => (p.activations.x = { dtype: 'uint8', symmetric: false, range: [1, 1] })), /range \[1,1\]/);
    expectCleanFailure(write((p) => Object.assign(p.weights.w.params, { scale: [1, 2], zeroPoint: [0, 0] })), /weight "w" has 2 scales where axis 0 has 8 channels/);
    expectCleanFailure(write((p) => (p.weights.w.params.scale = [1, 2])), /weight "w" needs "scale" and "zeroPoint" arrays of one length/);
    expectCleanFailure(write((p) => (p.activations.x.params.scale = [-1])), /activation "x" has a scale that is not a positive finite number/);
    expectCleanFailure(write((p) => (p.activations.x.params.zeroPoint = [300])), /activation "x" has a zero point outside uint8's 0…255/);
    expectCleanFailure(write((p) => (p.activations.x.params.state = 'guessed')), /activation "x" has state "guessed"/);
    expectCleanFailure(write((p) => (p.activations.x.params.bits = 4)), /activation "x" has bits 4, but its entry uses 8/);
    expect(fs.readdirSync(dir).filter((f) => f.includes('bad-out'))).toEqual([]);
  });

  it('prints a readable summary without --json', () => {
    const r = onnxq(['quantize', model, '-o', path.join(dir, 'net.text.onnx'), '--calib', calib, '--exclude', 'NoSuchNode']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/y: SQNR \d+\.\d dB, cosine 0\.99/);
    expect(r.stdout).toContain('left in float: Sin');
    expect(r.stdout).toContain('warning: --exclude NoSuchNode: no node has this name or op type.');
  });

  it('shows help for each command', () => {
    const r = onnxq(['quantize', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--calib', '--method', '--target', '--calib-cache', '--save-plan', '--input-shape', '--resize']) expect(r.stdout).toContain(flag);
  });
});

describe('bad input', () => {
  const out = () => path.join(dir, 'bad-out.onnx');
  const noOutput = () => expect(listing().filter((f) => f.includes('bad-out'))).toEqual([]);

  it('a file that is not ONNX', () => {
    const f = path.join(dir, 'text.onnx');
    fs.writeFileSync(f, 'hello, I am a text file\n'.repeat(20));
    expectCleanFailure(onnxq(['quantize', f, '-o', out(), '--calib', calib]), /text\.onnx is not an ONNX/);
    expectCleanFailure(onnxq(['inspect', f]), /text\.onnx/);
    noOutput();
  });

  it('a truncated ONNX file', () => {
    const f = path.join(dir, 'cut.onnx');
    fs.writeFileSync(f, fs.readFileSync(model).subarray(0, 600));
    expectCleanFailure(onnxq(['quantize', f, '-o', out(), '--calib', calib]), /cut\.onnx is (a truncated|not an)/);
    noOutput();
  });

  it('a missing external data file, and a location outside the model folder', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'ext-'));
    const f = path.join(sub, 'ext.onnx');
    const big = buildModel({
      inputs: [{ name: 'x', dims: [1, 64] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [64, 64], 4)],
      nodes: [{ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    expect(saveModelFile(big, f, { externalData: true }).data).toBe(f + '.data');
    fs.rmSync(f + '.data');
    expectCleanFailure(onnxq(['inspect', f]), /external data file 'ext\.onnx\.data' is missing/);

    const m = loadModelFile(model).model;
    const w = m.graph!.initializer.find((t) => t.name === 'w')!;
    w.rawData = new Uint8Array(0);
    w.dataLocation = TensorProto_DataLocation.EXTERNAL;
    w.externalData = [create(StringStringEntryProtoSchema, { key: 'location', value: '../../etc/passwd' })];
    const evil = path.join(sub, 'evil.onnx');
    saveModelFile(m, evil);
    expectCleanFailure(onnxq(['quantize', evil, '-o', out(), '--calib', calib]), /outside the model's folder/);
    w.externalData = [create(StringStringEntryProtoSchema, { key: 'location', value: '/etc/passwd' })];
    saveModelFile(m, evil);
    expectCleanFailure(onnxq(['inspect', evil]), /outside the model's folder/);
    noOutput();
  });

  it('calibration data of the wrong shape, dtype or number of inputs', () => {
    const wrongShape = path.join(dir, 'wrong-shape.npy');
    writeNpy(wrongShape, { dtype: 'float32', dims: [4, 3, 8, 8], data: new Float32Array(4 * 3 * 64) });
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', wrongShape]), /'x'.*\[1, 3, 16, 16\]|x.*16.*8/s);
    const wrongType = path.join(dir, 'wrong-type.npy');
    writeNpy(wrongType, { dtype: 'int32', dims: [4, 3, 16, 16], data: new Int32Array(4 * 3 * 256) });
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', wrongType]), /int32/);
    const npz = path.join(dir, 'two.npz');
    fs.writeFileSync(npz, zipSync({ 'x.npy': encodeNpy({ dtype: 'float32', dims: [2, 3, 16, 16], data: new Float32Array(2 * 768) }), 'extra.npy': encodeNpy({ dtype: 'float32', dims: [2, 4], data: new Float32Array(8) }) }));
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', npz]), /extra/);
    noOutput();
  });

  it('calibration data with infinite values', () => {
    const inf = path.join(dir, 'inf.npy');
    const data = randomFloats(20 * 3 * 16 * 16, 9);
    data[100] = Infinity;
    writeNpy(inf, { dtype: 'float32', dims: [20, 3, 16, 16], data });
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', inf]), /inf\.npy.*, sample 0: input 'x' holds 1 value that is not finite \(the first, at element 100, is Infinity\)/);
    noOutput();
  });

  it('an empty calibration folder and an unreadable image', async () => {
    const empty = fs.mkdtempSync(path.join(dir, 'empty-'));
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', empty]), /empty/);
    const images = fs.mkdtempSync(path.join(dir, 'images-'));
    await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 200, g: 100, b: 50 } } }).png().toFile(path.join(images, 'ok.png'));
    fs.writeFileSync(path.join(images, 'broken.jpg'), 'not really a jpeg');
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', images]), /broken\.jpg/);
    noOutput();
  });

  it('-o equal to the input path, and a bad option value', () => {
    const before = fs.readFileSync(model);
    expectCleanFailure(onnxq(['quantize', model, '-o', model, '--calib', calib]), /input files/);
    expect(Buffer.compare(fs.readFileSync(model), before)).toBe(0);
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', calib, '--calib-samples', 'many']), /--calib-samples takes an integer/);
    // a usage error is short: the error and where the help is, not the help itself
    const usage = onnxq(['quantize', model, '-o', out(), '--mode', 'bogus']);
    expectCleanFailure(usage, /argument 'bogus' is invalid/);
    expect(usage.stderr.trim().split('\n')).toHaveLength(2);
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', calib, '--input-shape', 'x=1,3,32,32']), /does not fit the input, which is \[1, 3, 16, 16\]/);
    expectCleanFailure(onnxq(['quantize', model, '-o', calib, '--calib', calib]), /input files/);
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', calib, '--exclude', 'Conv']), /nothing to quantize/);
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', calib, '--target', 'tensorrt', '--activation-type', 'uint8']), /int8/);
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', calib, '--save-ranges', `${out()}.data`]), /two outputs name the same file \(the model's own data file is .*bad-out\.onnx\.data\)/);
    noOutput();
  });

  it('options that would do nothing are refused or warned about, never ignored', () => {
    const refused: [string[], RegExp][] = [
      [['--percentile', '99.9'], /--percentile applies to --method percentile; the method here is minmax/],
      [['--trt-version', '8601'], /--trt-version sets the header of the TensorRT calibration cache; add --calib-cache/],
      [['--trt-version', 'v8', '--calib-cache', path.join(dir, 'bad-out.calib')], /--trt-version takes TensorRT's version .* got 'v8'/],
      [['--size', '32x32', '--mean', '0.5'], /--size, --mean apply to images, but .*calib\.npy is a \.npy file/],
    ];
    for (const [flags, pattern] of refused) expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--calib', calib, ...flags]), pattern);
    expectCleanFailure(onnxq(['quantize', model, '-o', out(), '--mode', 'dynamic', '--std', '0.2']), /--std applies to the images given with --calib, and there is no --calib/);
    noOutput();
    const warned = onnxq(['quantize', model, '-o', out(), '--calib', calib, '--exclude', 'conv_9', '--op-types', 'Conv,Gemm', '--batch-size', '4', '--json']);
    expect(warned.code).toBe(0);
    expect(JSON.parse(warned.stdout).warnings).toEqual([
      '--exclude conv_9: no node has this name or op type.',
      '--op-types Gemm: the model has no Gemm node.',
      '--batch-size 4 had no effect: the model fixes its batch dimension, so samples run one at a time.',
    ]);
    const fp16 = onnxq(['quantize', model, '-o', out(), '--mode', 'fp16', '--exclude', 'Softmax', '--json']);
    expect(JSON.parse(fp16.stdout).warnings).toEqual(['--exclude Softmax: no node has this name or op type.']);
    for (const f of listing().filter((f) => f.includes('bad-out'))) fs.rmSync(path.join(dir, f));
  });

  it('an output path that is a folder: refused before any work, no other output written', () => {
    const folder = fs.mkdirSync(path.join(dir, 'bad-out-folder'), { recursive: true })!;
    const r = onnxq(['quantize', model, '-o', out(), '--calib', calib, '--save-plan', path.join(dir, 'bad-out.plan.json'), '--calib-cache', folder]);
    expectCleanFailure(r, /bad-out-folder: it is a folder/);
    expect(listing().filter((f) => f.includes('bad-out'))).toEqual(['bad-out-folder']);
    expect(fs.readdirSync(folder)).toEqual([]);
    fs.rmdirSync(folder);
  });
});

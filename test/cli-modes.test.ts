/**
 * `onnxq quantize --mode dynamic | weight-only | fp16` as documented, through the built CLI (dist/):
 * the summaries (text and --json), a recurrent model, and every bad input a user can give these
 * modes — each a one-paragraph error, a non-zero exit code, and no output file left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFile, saveModelFile } from '../src/node/files.js';
import { writeNpy } from '../src/data/npy-file.js';
import { DT } from '../src/onnx/dtype.js';
import { sqnr } from '../src/analyze/metrics.js';
import { buildModel, randomFloats, randomWeight } from './helpers/build.js';
import { expectCleanFailure, onnxq } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

let dir: string;
/** Conv → Relu → MatMul (uint8 Conv weights in dynamic mode). */
let net: string;
/** Two MatMuls with K = 64 and an Add: what weight-only mode is for. */
let mlp: string;
/** Relu and Add only: nothing to quantize. */
let plain: string;
/** Gather on a one-row table by an int64 'speaker' input: synthetic value 1 is out of range. */
let speaker: string;
let lstm: string;
let calib: string;

const file = (name: string) => path.join(dir, name);
const leftovers = (prefix: string) => fs.readdirSync(dir).filter((f) => f.includes(prefix)); // temporary files too (.NAME.PID.tmp)

beforeAll(() => {
  dir = tempDir('onnxq-cli-modes-');
  net = file('net.onnx');
  saveModelFile(
    buildModel({
      inputs: [{ name: 'x', dims: [1, 3, 16, 16] }],
      outputs: [{ name: 'y', dims: [1, 8, 16, 10] }],
      initializers: [randomWeight('w', [8, 3, 3, 3], 1), randomWeight('b', [8], 2, 0.1), randomWeight('w2', [16, 10], 3)],
      nodes: [
        { opType: 'Conv', name: 'conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { opType: 'Relu', inputs: ['c'], outputs: ['r'] },
        { opType: 'MatMul', name: 'mm', inputs: ['r', 'w2'], outputs: ['y'] },
      ],
    }),
    net,
  );
  mlp = file('mlp.onnx');
  saveModelFile(
    buildModel({
      inputs: [{ name: 'x', dims: ['batch', 64] }],
      outputs: [{ name: 'y', dims: ['batch', 32] }],
      initializers: [randomWeight('w1', [64, 64], 4, 0.2), randomWeight('b1', [64], 5, 0.1), randomWeight('w2', [64, 32], 6, 0.2)],
      nodes: [
        { opType: 'MatMul', name: 'fc1', inputs: ['x', 'w1'], outputs: ['h'] },
        { opType: 'Add', inputs: ['h', 'b1'], outputs: ['hb'] },
        { opType: 'Relu', inputs: ['hb'], outputs: ['r'] },
        { opType: 'MatMul', name: 'fc2', inputs: ['r', 'w2'], outputs: ['y'] },
      ],
    }),
    mlp,
  );
  plain = file('plain.onnx');
  saveModelFile(
    buildModel({
      inputs: [{ name: 'x', dims: [2, 4] }],
      outputs: [{ name: 'y', dims: [2, 4] }],
      initializers: [randomWeight('c', [4], 7)],
      nodes: [
        { opType: 'Relu', inputs: ['x'], outputs: ['r'] },
        { opType: 'Add', inputs: ['r', 'c'], outputs: ['y'] },
      ],
    }),
    plain,
  );
  speaker = file('speaker.onnx');
  saveModelFile(
    buildModel({
      inputs: [{ name: 'x', dims: [2, 5] }, { name: 'speaker', dims: [1], dtype: DT.INT64 }],
      outputs: [{ name: 'y', dims: [2, 4] }],
      initializers: [randomWeight('table', [1, 5], 8), randomWeight('w', [5, 4], 9)],
      nodes: [
        { opType: 'Gather', inputs: ['table', 'speaker'], outputs: ['e'] },
        { opType: 'Add', inputs: ['x', 'e'], outputs: ['h'] },
        { opType: 'MatMul', name: 'mm', inputs: ['h', 'w'], outputs: ['y'] },
      ],
    }),
    speaker,
  );
  // A one-layer LSTM (sequence 'time', batch 1, 8 features, hidden 16) and a MatMul head on its last state.
  const H = 16;
  lstm = file('lstm.onnx');
  saveModelFile(
    buildModel({
      inputs: [{ name: 'x', dims: ['time', 1, 8] }],
      outputs: [{ name: 'y', dims: [1, 1, 4] }],
      initializers: [randomWeight('W', [1, 4 * H, 8], 10, 0.3), randomWeight('R', [1, 4 * H, H], 11, 0.3), randomWeight('B', [1, 8 * H], 12, 0.1), randomWeight('head', [H, 4], 13)],
      nodes: [
        { opType: 'LSTM', name: 'lstm', inputs: ['x', 'W', 'R', 'B'], outputs: ['', 'h_last'], attrs: { hidden_size: H } },
        { opType: 'MatMul', name: 'head', inputs: ['h_last', 'head'], outputs: ['y'] },
      ],
    }),
    lstm,
  );
  calib = file('calib.npy');
  writeNpy(calib, { dtype: 'float32', dims: [4, 3, 16, 16], data: randomFloats(4 * 3 * 16 * 16, 14) });
});

describe('onnxq quantize in the modes that need no calibration', () => {
  it('--mode dynamic: writes the model and prints the mode, sizes and validation', () => {
    const out = file('net.q8.onnx');
    const r = onnxq(['quantize', net, '-o', out, '--mode', 'dynamic']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.existsSync(out)).toBe(true);
    expect(r.stdout).toContain(`onnxq: ${net} → ${out}`);
    expect(r.stdout).toContain('mode dynamic int8');
    expect(r.stdout).toMatch(/size \d+(\.\d+)? (B|KiB) → \d+(\.\d+)? (B|KiB) \(\d+ %\)/);
    expect(r.stdout).toContain('quantized: Conv, MatMul');
    expect(r.stdout).toContain('validation on 8 samples from synthetic inputs');
    expect(r.stdout).toMatch(/y: SQNR \d+\.\d dB, cosine 0\.99/);
    const ops = loadModelFile(out).model.graph!.node.map((n) => n.opType);
    expect(ops).toEqual(expect.arrayContaining(['DynamicQuantizeLinear', 'ConvInteger', 'MatMulInteger']));
  });

  it('--mode dynamic --json: a parseable summary with mode, bytes, quantized and validation', () => {
    const out = file('net.q8.json.onnx');
    const r = onnxq(['quantize', net, '-o', out, '--mode', 'dynamic', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.mode).toBe('dynamic');
    expect(j.bytes.input).toBe(fs.statSync(net).size);
    expect(j.bytes.output).toBe(fs.statSync(out).size);
    expect(j.quantized).toEqual([
      { node: 'conv', op: 'Conv' },
      { node: 'mm', op: 'MatMul' },
    ]);
    expect(j.float).toEqual([]);
    expect(j.validatedOn).toMatch(/^synthetic inputs/);
    expect(j.validation.samples).toBe(8);
    expect(j.validation.outputs[0].name).toBe('y');
    expect(j.validation.outputs[0].sqnr).toBeGreaterThan(38); // measured 41.3 dB
    expect(j.warnings).toEqual([]);
  });

  it('--mode weight-only --bits 4 --block-size 32', () => {
    const out = file('mlp.q4.onnx');
    const r = onnxq(['quantize', mlp, '-o', out, '--mode', 'weight-only', '--bits', '4', '--block-size', '32', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.mode).toBe('weight-only');
    expect(j.options).toMatchObject({ bits: 4, blockSize: 32 });
    expect(j.quantized.map((q: { node: string }) => q.node)).toEqual(['fc1', 'fc2']);
    // 4-bit codes, one scale and one packed zero point per block of 32
    expect(j.weightBytes.after).toBeLessThan(j.weightBytes.before / 4);
    expect(j.validation.outputs[0].sqnr).toBeGreaterThan(16); // measured 18.8 dB
    const nodes = loadModelFile(out).model.graph!.node;
    expect(nodes.filter((n) => n.opType === 'MatMulNBits').map((n) => Number(n.attribute.find((a) => a.name === 'block_size')!.i))).toEqual([32, 32]);
    const text = onnxq(['quantize', mlp, '-o', file('mlp.q4.text.onnx'), '--mode', 'weight-only', '--bits', '4', '--block-size', '32']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('mode weight-only');
    expect(text.stdout).toContain('quantized: MatMul ×2');
    expect(text.stdout).toContain('4-bit asymmetric blocks of 32 (rtn) as MatMulNBits ×2');
  });

  it('--mode fp16', () => {
    const out = file('net.fp16.onnx');
    const r = onnxq(['quantize', net, '-o', out, '--mode', 'fp16']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('mode float16');
    expect(r.stdout).toMatch(/3 tensors now float16/);
    expect(r.stdout).toMatch(/y: SQNR \d+\.\d dB/);
    const m = loadModelFile(out).model;
    expect(m.graph!.initializer.every((t) => t.dataType === DT.FLOAT16)).toBe(true);
  });

  it('--mode fp16 --no-keep-io-types: float16 inputs and outputs, validated on the same values as the float model', () => {
    const out = file('net.fp16io.onnx');
    const r = onnxq(['quantize', net, '-o', out, '--mode', 'fp16', '--no-keep-io-types', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.warnings).toEqual([]);
    expect(j.validation.outputs.map((o: { name: string }) => o.name)).toEqual(['y']);
    expect(j.validation.outputs[0].sqnr).toBeGreaterThan(50); // float16 I/O and compute; measured 67.4 dB (71.4 with float32 I/O)
    const g = loadModelFile(out).model.graph!;
    expect([...g.input, ...g.output].map((v) => (v.type?.value.case === 'tensorType' ? v.type.value.value.elemType : -1))).toEqual([DT.FLOAT16, DT.FLOAT16]);
    // a float16 model as input: synthetic float16 inputs, float16 outputs compared (nothing changed: --force)
    const again = onnxq(['quantize', out, '-o', file('net.fp16io.copy.onnx'), '--mode', 'dynamic', '--force', '--json']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).validation.outputs[0]).toMatchObject({ name: 'y', cosine: 1, maxAbsError: 0 });
  });

  it('a model with external data, in every mode: weights read from their file, validated, nothing left beside them', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'ext-'));
    const ext = path.join(sub, 'mlp.onnx');
    saveModelFile(loadModelFile(mlp).model, ext, { externalData: true });
    expect(fs.readdirSync(sub).sort()).toEqual(['mlp.onnx', 'mlp.onnx.data']);
    // measured 42.8 dB (dynamic), 44.5 (weight-only 8-bit), 68.8 (fp16)
    for (const [mode, extra, least] of [['dynamic', [], 39], ['weight-only', ['--bits', '8'], 39], ['fp16', [], 64]] as const) {
      const r = onnxq(['quantize', ext, '-o', path.join(sub, `mlp.${mode}.onnx`), '--mode', mode, ...extra, '--input-shape', 'x=2,64', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).validation.outputs[0].sqnr, mode).toBeGreaterThan(least);
    }
    // The models onnxruntime read beside the weights (onnxruntime takes external data from the model's folder only) are gone.
    expect(fs.readdirSync(sub).sort()).toEqual(['mlp.dynamic.onnx', 'mlp.fp16.onnx', 'mlp.onnx', 'mlp.onnx.data', 'mlp.weight-only.onnx']);
  });

  it('--input-value gives integer inputs their synthetic value; without it, a warning names the flag', () => {
    const out = file('speaker.q8.onnx');
    const warned = onnxq(['quantize', speaker, '-o', out, '--mode', 'dynamic']);
    expect(warned.code).toBe(0);
    expect(fs.existsSync(out)).toBe(true);
    expect(warned.stdout).toMatch(/warning: the model was written but not validated: .*the float model.*--input-value NAME=V/);
    expect(warned.stdout).not.toContain('validation on');
    const ok = onnxq(['quantize', speaker, '-o', out, '--mode', 'dynamic', '--input-value', 'speaker=0', '--json']);
    expect(ok.code).toBe(0);
    const j = JSON.parse(ok.stdout);
    expect(j.warnings).toEqual([]);
    expect(j.validation.outputs[0].sqnr).toBeGreaterThan(44); // measured 47.3 dB
  });

  it('a recurrent model: the LSTM is left float and listed; the output loads and runs in onnxruntime', async () => {
    const out = file('lstm.q8.onnx');
    const r = onnxq(['quantize', lstm, '-o', out, '--mode', 'dynamic', '--input-shape', 'x=6,1,8']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/quantized: MatMul\n/);
    expect(r.stdout).toMatch(/left in float:\n\s+LSTM: recurrent/);
    const feeds = { x: new ort.Tensor('float32', randomFloats(10 * 8, 15), [10, 1, 8]) };
    const run = async (f: string) => {
      const s = await ort.InferenceSession.create(f);
      const y = (await s.run(feeds)).y!.data as Float32Array;
      await s.release();
      return y;
    };
    const q = await ort.InferenceSession.create(out);
    expect(q.inputNames).toEqual(['x']);
    await q.release();
    expect(loadModelFile(out).model.graph!.node.map((n) => n.opType)).toContain('LSTM');
    // a sequence of 10 steps, not the 6 it was validated on; measured 42.5 dB
    expect(sqnr(await run(lstm), await run(out))).toBeGreaterThan(39);
    // weight-only says the same of the LSTM, not that another mode would take it
    const wo = onnxq(['quantize', lstm, '-o', file('lstm.q4.onnx'), '--mode', 'weight-only', '--input-shape', 'x=6,1,8']);
    expect(wo.code).toBe(0);
    expect(wo.stdout).toMatch(/LSTM: recurrent op: onnxq leaves LSTM, GRU and RNN float in every mode/);
  });
});

describe('bad input in the offline modes: a clean failure, no output left behind', () => {
  const out = () => file('bad-out.onnx');
  const noOutput = () => expect(leftovers('bad-out')).toEqual([]);

  it('--bits other than 4 or 8', () => {
    expectCleanFailure(onnxq(['quantize', mlp, '-o', out(), '--mode', 'weight-only', '--bits', '3']), /--bits 3: .*4- or 8-bit/);
    noOutput();
  });

  it.each(['48', '512'])('--block-size %s', (size) => {
    expectCleanFailure(onnxq(['quantize', mlp, '-o', out(), '--mode', 'weight-only', '--block-size', size]), new RegExp(`--block-size ${size}: .*power of two from 16 to 256`));
    noOutput();
  });

  it('--format qdq on an opset-13 model', () => {
    const r = onnxq(['quantize', mlp, '-o', out(), '--mode', 'weight-only', '--format', 'qdq']);
    expectCleanFailure(r, /opset 21/);
    expect(r.stderr).toMatch(/opset 13/);
    expect(r.stderr).toMatch(/matmulnbits/);
    noOutput();
  });

  it('a model with no quantizable op; --force writes it anyway', () => {
    for (const mode of ['dynamic', 'weight-only']) {
      const r = onnxq(['quantize', plain, '-o', out(), '--mode', mode]);
      expectCleanFailure(r, new RegExp(`nothing to quantize in ${mode} mode`));
      expect(r.stderr).toMatch(/--force/);
      noOutput();
    }
    const forced = file('plain.forced.onnx');
    const r = onnxq(['quantize', plain, '-o', forced, '--mode', 'dynamic', '--force']);
    expect(r.code).toBe(0);
    expect(loadModelFile(forced).model.graph!.node.map((n) => n.opType)).toEqual(['Relu', 'Add']);
  });

  it('static mode without --calib', () => {
    const r = onnxq(['quantize', net, '-o', out()]);
    expectCleanFailure(r, /static quantization needs calibration data: add --calib/);
    expect(r.stderr).toMatch(/--mode dynamic, weight-only or fp16/);
    noOutput();
  });

  it('--mode dynamic --target tensorrt', () => {
    const r = onnxq(['quantize', net, '-o', out(), '--mode', 'dynamic', '--target', 'tensorrt']);
    expectCleanFailure(r, /TensorRT cannot run dynamic quantization/);
    expect(r.stderr).toMatch(/DynamicQuantizeLinear/);
    expect(r.stderr).toMatch(/--calib <data> --target tensorrt/);
    noOutput();
  });

  it('flags that do not apply to the mode are named', () => {
    expectCleanFailure(onnxq(['quantize', mlp, '-o', out(), '--mode', 'dynamic', '--bits', '4']), /--bits applies to --mode weight-only, not to --mode dynamic/);
    expectCleanFailure(onnxq(['quantize', net, '-o', out(), '--mode', 'fp16', '--method', 'entropy']), /--method applies to --mode static, not to --mode fp16/);
    const two = onnxq(['quantize', net, '-o', out(), '--mode', 'fp16', '--per-channel', '--block-size', '32']);
    expectCleanFailure(two, /--per-channel applies to --mode static or dynamic; --block-size applies to --mode weight-only, not to --mode fp16\. Drop them/);
    expectCleanFailure(onnxq(['quantize', net, '-o', out(), '--calib', calib, '--keep-io-types']), /--keep-io-types applies to --mode fp16, not to --mode static/);
    noOutput();
  });

  it('--weight-method hqq in static mode', () => {
    expectCleanFailure(onnxq(['quantize', net, '-o', out(), '--calib', calib, '--weight-method', 'hqq']), /--weight-method hqq is not a static method; --mode static takes minmax or admm/);
    expectCleanFailure(onnxq(['quantize', mlp, '-o', out(), '--mode', 'weight-only', '--weight-method', 'admm']), /--weight-method admm is not a weight-only method/);
    noOutput();
  });

  it('--input-value with a bad format, or naming an input the model does not have', () => {
    expectCleanFailure(onnxq(['quantize', speaker, '-o', out(), '--mode', 'dynamic', '--input-value', 'speaker:0']), /--input-value takes NAME=NUMBER, e\.g\. sr=16000; got 'speaker:0'/);
    expectCleanFailure(onnxq(['quantize', speaker, '-o', out(), '--mode', 'dynamic', '--input-value', 'speaker=zero']), /--input-value takes NAME=NUMBER/);
    expectCleanFailure(onnxq(['quantize', speaker, '-o', out(), '--mode', 'dynamic', '--input-value', 'sr=16000']), /--input-value names 'sr', but the model's inputs are 'x', 'speaker'/);
    noOutput();
  });
});

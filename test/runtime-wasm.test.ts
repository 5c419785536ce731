/**
 * `--runtime wasm`: the CLI on onnxruntime-web's WebAssembly kernels in Node, as the studio runs them
 * (test/web/studio.test.ts checks the bytes against the studio's). Here: the same run twice gives the
 * same bytes, models with external data load, analyze and qat take it too, and a wrong name is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModelFile } from '../src/node/files.js';
import { writeNpy } from '../src/data/npy-file.js';
import { buildModel, randomFloats, randomWeight } from './helpers/build.js';
import { expectCleanFailure, onnxq } from './helpers/cli.js';
import { calibrationFile, PADDLE_MODELS } from './helpers/paddle.js';
import { tempDir } from './helpers/temp.js';

let dir: string;
let model: string;
let inline: string;
let calib: string;

beforeAll(() => {
  dir = tempDir('onnxq-wasm-');
  model = path.join(dir, 'net.onnx');
  // Weights past the 1 KiB a tensor needs to go to the data file: onnxruntime-web must be given them.
  const net = buildModel({
    inputs: [{ name: 'x', dims: [1, 3, 16, 16] }],
    outputs: [{ name: 'y' }],
    initializers: [randomWeight('w', [32, 3, 3, 3], 21), randomWeight('b', [32], 22, 0.1)],
    // Training fake-quantizes what a node reads: the convolution's output needs a reader.
    nodes: [
      { opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
      { opType: 'Sigmoid', inputs: ['c'], outputs: ['y'] },
    ],
  });
  saveModelFile(net, model, { externalData: true });
  // analyze reads a float model with external data wrongly on either runtime (bytes naming a data file), so it gets this one.
  inline = path.join(dir, 'inline.onnx');
  saveModelFile(net, inline);
  calib = path.join(dir, 'calib.npy');
  writeNpy(calib, { dtype: 'float32', dims: [12, 3, 16, 16], data: randomFloats(12 * 3 * 16 * 16, 5) });
});

describe('--runtime wasm', { timeout: 300_000 }, () => {
  it('quantizes PaddleOCR cls to the same bytes run after run', () => {
    const data = calibrationFile('cls', 16);
    const run = (name: string) => {
      const out = path.join(dir, name);
      const r = onnxq(['quantize', PADDLE_MODELS.cls, '-o', out, '--calib', data, '--runtime', 'wasm']);
      expect(r.code, r.stderr).toBe(0);
      return fs.readFileSync(out);
    };
    expect(run('cls-a.onnx').equals(run('cls-b.onnx'))).toBe(true);
  });

  it('reads a model whose weights are in an external data file, and validates against it', () => {
    const r = onnxq(['quantize', model, '-o', path.join(dir, 'net.int8.onnx'), '--calib', calib, '--runtime', 'wasm', '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).validation.outputs[0].sqnr).toBeGreaterThan(25);
  });

  it('runs analyze and qat too', () => {
    const quantized = path.join(dir, 'inline.int8.onnx');
    expect(onnxq(['quantize', inline, '-o', quantized, '--calib', calib, '--runtime', 'wasm']).code).toBe(0);
    const a = onnxq(['analyze', inline, quantized, '--calib', calib, '--runtime', 'wasm', '--samples', '4', '--layer-samples', '2', '--json']);
    expect(a.stderr).toBe('');
    const report = JSON.parse(a.stdout);
    expect(report.tensors.length).toBeGreaterThan(0);
    expect(report.layers.length).toBeGreaterThan(0);
    const q = onnxq(['qat', inline, '-o', path.join(dir, 'net.qat.onnx'), '--data', calib, '--runtime', 'wasm', '--batch-size', '4', '--json']);
    expect(q.stderr).toBe('');
    expect(q.code).toBe(0);
  });

  it('refuses a runtime it does not know, naming the ones it does', () => {
    expectCleanFailure(onnxq(['quantize', model, '-o', path.join(dir, 'x.onnx'), '--calib', calib, '--runtime', 'webgpu']), /'--runtime <name>' argument 'webgpu' is invalid\. Allowed choices are node, wasm/);
  });
});

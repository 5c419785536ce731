/**
 * An outside check of onnxq's files: Debian's python3-onnx (onnx 1.12, run with Debian's own python3)
 * runs onnx.checker.check_model(full_check=True) — the schema of every node, and strict shape
 * inference — on a model of every mode and target, from small graphs built here and PaddleOCR's
 * direction classifier. onnx 1.12 reads up to IR 8 and opset 17: an output past that (weight-only's
 * DequantizeLinear form needs opset 21) would be listed as unreadable by it, never counted as passed.
 * Without python3-onnx the test is skipped: `apt-get install python3-onnx` (.ci/run does).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PADDLE_MODELS } from '../demo/paddle-models.js';
import { writeNpy } from '../src/data/npy-file.js';
import { saveModelFile } from '../src/node/files.js';
import { buildModel, randomFloats, randomWeight } from './helpers/build.js';
import { onnxq } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const PYTHON = '/usr/bin/python3';
const available = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
if (!available) console.log('onnx.checker test skipped: install Debian\'s python3-onnx (apt-get install python3-onnx) to run it');

const CHECK = `
import sys, onnx
for f in sys.argv[1:]:
    m = onnx.load(f)
    opset = max([o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')] or [0])
    if m.ir_version > 8 or opset > 17:
        print('SKIP', f, 'IR', m.ir_version, 'opset', opset)
        continue
    try:
        onnx.checker.check_model(m, full_check=True)
        print('OK', f)
    except Exception as e:
        print('FAIL', f, str(e).replace('\\n', ' ')[:300])
`;

describe.skipIf(!available)('onnx.checker (onnx 1.12) on every mode and target', () => {
  it('passes full_check on each output it can read', () => {
    const dir = tempDir('onnxq-checker-');
    const models = {
      mlp: buildModel({
        inputs: [{ name: 'x', dims: [1, 16] }],
        outputs: [{ name: 'y', dims: [1, 8] }],
        initializers: [randomWeight('w1', [16, 32], 1), randomWeight('b1', [32], 2), randomWeight('w2', [32, 8], 3)],
        nodes: [
          { opType: 'MatMul', inputs: ['x', 'w1'], outputs: ['h'] },
          { opType: 'Add', inputs: ['h', 'b1'], outputs: ['hb'] },
          { opType: 'Relu', inputs: ['hb'], outputs: ['r'] },
          { opType: 'MatMul', inputs: ['r', 'w2'], outputs: ['y'] },
        ],
      }),
      cnn: buildModel({
        inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
        outputs: [{ name: 'y', dims: [1, 4] }],
        initializers: [randomWeight('k', [8, 3, 3, 3], 4), randomWeight('kb', [8], 5), randomWeight('fw', [4, 8], 6), randomWeight('fb', [4], 7)],
        nodes: [
          { opType: 'Conv', inputs: ['x', 'k', 'kb'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
          { opType: 'Relu', inputs: ['c'], outputs: ['r'] },
          { opType: 'GlobalAveragePool', inputs: ['r'], outputs: ['g'] },
          { opType: 'Flatten', inputs: ['g'], outputs: ['f'] },
          { opType: 'Gemm', inputs: ['f', 'fw', 'fb'], outputs: ['y'], attrs: { transB: 1 } },
        ],
      }),
    };
    const inputs: Record<string, [string, number[]]> = {};
    for (const [name, m] of Object.entries(models)) {
      const file = path.join(dir, `${name}.onnx`);
      saveModelFile(m, file);
      inputs[name] = [file, m.graph!.input[0]!.type!.value.value!.shape!.dim.map((d) => Number(d.value.value))];
    }
    inputs.cls = [PADDLE_MODELS.cls, [1, 3, 48, 192]];
    const variants: Record<string, string[]> = {
      static: [],
      'static-entropy': ['--method', 'entropy'],
      tensorrt: ['--target', 'tensorrt'],
      dynamic: ['--mode', 'dynamic'],
      fp16: ['--mode', 'fp16'],
      'weight-only': ['--mode', 'weight-only'],
    };
    const outputs: string[] = [];
    for (const [name, [file, shape]] of Object.entries(inputs)) {
      const calib = path.join(dir, `${name}.npy`);
      const n = shape.reduce((a, b) => a * b, 1);
      writeNpy(calib, { dtype: 'float32', dims: [4, ...shape.slice(1)], data: randomFloats(4 * n, 8) });
      for (const [variant, args] of Object.entries(variants)) {
        if (name === 'cls' && variant === 'weight-only') continue; // a CNN: nothing for weight-only to do
        const out = path.join(dir, `${name}-${variant}.onnx`);
        const r = onnxq(['quantize', file, '-o', out, '--calib', calib, ...args]);
        expect(r.code, `${name} ${variant}: ${r.stderr}`).toBe(0);
        outputs.push(out);
      }
    }
    const r = spawnSync(PYTHON, ['-c', CHECK, ...outputs], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    const ok = lines.filter((l) => l.startsWith('OK')).map((l) => path.basename(l.split(' ')[1]!, '.onnx'));
    // Every mode and target passed on every model it applies to.
    for (const v of ['static', 'static-entropy', 'tensorrt', 'dynamic', 'fp16', 'weight-only']) expect(ok.some((o) => o.endsWith(`-${v}`)), v).toBe(true);
    expect(lines.filter((l) => l.startsWith('SKIP'))).toEqual([]);
    expect(ok).toHaveLength(outputs.length);
  }, 240_000);
});

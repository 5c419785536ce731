/**
 * Malformed models: each is refused up front with its fault named, in every mode, and nothing is
 * written; a model onnxq does write always loads in onnxruntime, even with --no-validate.
 */
import fs from 'node:fs';
import path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema, type ModelProto } from 'onnx-buf';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModelFile } from '../../src/node/files.js';
import { writeNpy } from '../../src/data/npy-file.js';
import { floatTensor, makeTensor } from '../../src/onnx/tensor.js';
import { DT } from '../../src/onnx/dtype.js';
import { buildModel, randomFloats, randomWeight } from '../helpers/build.js';
import { expectCleanFailure, onnxq } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

function mlp(): ModelProto {
  return buildModel({
    inputs: [{ name: 'x', dims: [1, 16] }],
    outputs: [{ name: 'y' }],
    initializers: [randomWeight('w', [16, 16], 4), randomWeight('b', [16], 5)],
    nodes: [
      { opType: 'MatMul', name: 'mm', inputs: ['x', 'w'], outputs: ['h'] },
      { opType: 'Add', name: 'add', inputs: ['h', 'b'], outputs: ['y'] },
    ],
  });
}

/** Each malformed model: how to break a good one, and what the error must say. */
const CASES: [string, (m: ModelProto) => void, RegExp][] = [
  ['a node input nothing produces', (m) => (m.graph!.node[1]!.input[0] = 'ghost'), /node 'add' \(Add\) reads 'ghost', which no node, initializer or graph input produces/],
  ['a duplicated initializer name', (m) => m.graph!.initializer.push(randomWeight('w', [16, 16], 9)), /the name 'w' is given to more than one value \(an initializer\)/],
  ['opset 999', (m) => (m.opsetImport = [create(OperatorSetIdProtoSchema, { domain: '', version: 999n })]), /imports opset 999 of the default domain; onnxruntime reads opsets 1…26/],
  ['IR version 999', (m) => (m.irVersion = 999n), /IR version 999 is not one onnxruntime reads/],
  ['a Constant with no value', (m) => m.graph!.node.push({ ...m.graph!.node[0]!, opType: 'Constant', name: 'c', input: [], output: ['c_out'], attribute: [] }), /Constant node 'c' must hold exactly one value attribute; it has none/],
  ['an unknown element type', (m) => (m.graph!.initializer[1]!.dataType = 99), /tensor 'b' has element type 99, which is not an ONNX type onnxq knows/],
  ['a negative dimension', (m) => (m.graph!.initializer[1]!.dims = [-16n]), /tensor 'b' has dimension -16/],
  ['dimensions of 2^40 × 2^40', (m) => (m.graph!.initializer[1]!.dims = [2n ** 40n, 2n ** 40n]), /tensor 'b' has shape \[1099511627776, 1099511627776\]/],
  ['raw data shorter than the shape', (m) => (m.graph!.initializer[0]!.dims = [16n, 17n]), /tensor 'w' \(float32 \[16, 17\]\) takes 1088 bytes, but holds 1024/],
];

describe('malformed models', () => {
  let dir: string;
  let calib: string;
  beforeAll(() => {
    dir = tempDir('onnxq-hostile-models-');
    calib = path.join(dir, 'calib.npy');
    writeNpy(calib, { dtype: 'float32', dims: [4, 1, 16], data: randomFloats(64, 2) });
  });

  for (const [what, breakIt, why] of CASES)
    it(`${what}: refused by inspect and in every mode, nothing written`, () => {
      const m = mlp();
      breakIt(m);
      const file = path.join(dir, `${what.replace(/\W+/g, '-')}.onnx`);
      saveModelFile(m, file);
      const out = path.join(dir, 'out.onnx');
      expectCleanFailure(onnxq(['inspect', file]), why);
      for (const args of [['--calib', calib], ['--mode', 'dynamic', '--no-validate'], ['--mode', 'weight-only', '--no-validate'], ['--mode', 'fp16', '--no-validate']]) {
        expectCleanFailure(onnxq(['quantize', file, '-o', out, ...args]), why);
        expect(fs.readdirSync(dir).filter((f) => f.includes('out.onnx'))).toEqual([]);
      }
    });

  it('a good model quantized with --no-validate is still loaded in onnxruntime before it is written', () => {
    const file = path.join(dir, 'good.onnx');
    saveModelFile(mlp(), file);
    const r = onnxq(['quantize', file, '-o', path.join(dir, 'good.int8.onnx'), '--mode', 'dynamic', '--no-validate', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { timings: { stages: Record<string, number> } }).timings.stages.validation).toBeGreaterThan(0);
  });

  it('a Conv whose weight has rank 1 is refused, naming the node', () => {
    const m = buildModel({
      inputs: [{ name: 'x', dims: [1, 1, 8, 8] }],
      outputs: [{ name: 'y' }],
      initializers: [floatTensor('w', [9], randomFloats(9, 3))],
      nodes: [{ opType: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    const file = path.join(dir, 'conv-rank1.onnx');
    saveModelFile(m, file);
    for (const mode of ['dynamic', 'fp16']) expectCleanFailure(onnxq(['quantize', file, '-o', path.join(dir, 'o.onnx'), '--mode', mode, '--no-validate']), /node 'conv' \(Conv\) has weight 'w' of shape \[9\]; a convolution's weight has at least 3 dimensions/);
  });

  it('names that are not UTF-8 are refused, not merged into one value', () => {
    const m = buildModel({
      inputs: [{ name: 'x', dims: [1, 16] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { opType: 'Relu', name: 'r1', inputs: ['x'], outputs: ['NAME_A'] },
        { opType: 'Neg', name: 'r2', inputs: ['x'], outputs: ['NAME_B'] },
        { opType: 'Add', name: 'add', inputs: ['NAME_A', 'NAME_B'], outputs: ['y'] },
      ],
    });
    const file = path.join(dir, 'latin1.onnx');
    saveModelFile(m, file);
    // NAME_A → \xffAME_A and NAME_B → \xfeAME_B: two distinct byte strings that decode to the same U+FFFD…
    const bytes = Buffer.from(fs.readFileSync(file));
    for (const [from, to] of [['NAME_A', 0xff], ['NAME_B', 0xfe]] as const)
      for (let i = bytes.indexOf(from); i >= 0; i = bytes.indexOf(from, i + 1)) bytes[i] = to;
    fs.writeFileSync(file, bytes);
    for (const args of [['--mode', 'dynamic', '--no-validate'], ['--calib', calib]])
      expectCleanFailure(onnxq(['quantize', file, '-o', path.join(dir, 'o.onnx'), ...args]), /the name of an output of node 'r1', '\uFFFDAME_A', holds bytes that are not UTF-8/);
  });

  it('a chain of 10,000 Identity nodes is removed in one pass, in every mode', () => {
    const nodes = [{ opType: 'MatMul', name: 'mm', inputs: ['x', 'w'], outputs: ['i0'] }];
    for (let i = 0; i < 10000; i++) nodes.push({ opType: 'Identity', name: `id${i}`, inputs: [`i${i}`], outputs: [i === 9999 ? 'y' : `i${i + 1}`] });
    const file = path.join(dir, 'identities.onnx');
    saveModelFile(buildModel({ inputs: [{ name: 'x', dims: [1, 16] }], outputs: [{ name: 'y' }], initializers: [randomWeight('w', [16, 16], 4)], nodes }), file);
    for (const args of [['--calib', calib], ['--mode', 'dynamic'], ['--mode', 'fp16']]) {
      const r = onnxq(['quantize', file, '-o', path.join(dir, 'ids.out.onnx'), ...args, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { timings: { totalMs: number } }).timings.totalMs).toBeGreaterThan(0);
    }
  });

  it('a model already quantized by another tool (QLinearConv with initializer scales) is accepted, its weight found at input 3', () => {
    const m = buildModel({
      inputs: [{ name: 'x', dims: [1, 1, 4, 4], dtype: DT.UINT8 }],
      outputs: [{ name: 'y', dims: [1, 2, 4, 4], dtype: DT.UINT8 }],
      initializers: [
        floatTensor('xs', [], [0.1]), makeTensor('xz', DT.UINT8, [], Uint8Array.of(128)),
        makeTensor('w', DT.INT8, [2, 1, 1, 1], Int8Array.of(3, -5)), floatTensor('ws', [], [0.02]), makeTensor('wz', DT.INT8, [], Int8Array.of(0)),
        floatTensor('ys', [], [0.05]), makeTensor('yz', DT.UINT8, [], Uint8Array.of(128)),
      ],
      nodes: [{ opType: 'QLinearConv', name: 'qconv', inputs: ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], outputs: ['y'] }],
    });
    const file = path.join(dir, 'qlinear.onnx');
    saveModelFile(m, file);
    const r = onnxq(['inspect', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('QLinearConv 1');
  });
});

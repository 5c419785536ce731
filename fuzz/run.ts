/**
 * One mutant through onnxq as the CLI runs it (the same file-level functions, in process): written to
 * a file, then inspected or quantized in one of the modes, taken in turn. The outcome must be a
 * success (the output then loads in onnxruntime: every mode checks that before writing) or an
 * OnnxqError whose message is one line; anything else is a bug — what the CLI reports with exit 2.
 * Nothing may be left in the folder but the mutant, the calibration data and a successful output.
 */
import fs from 'node:fs';
import path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, OperatorSetIdProtoSchema, type ModelProto } from 'onnx-buf';
import { inspectModel } from '../src/analyze/inspect.js';
import { writeNpy } from '../src/data/npy-file.js';
import { OnnxqError } from '../src/errors.js';
import { checkModel } from '../src/ir/check.js';
import { makeNode } from '../src/ir/node.js';
import { makeValueInfo } from '../src/ir/types.js';
import { encodeModel } from '../src/onnx/codec.js';
import { floatTensor } from '../src/onnx/tensor.js';
import { loadModelFile } from '../src/node/files.js';
import { quantizeFileOffline } from '../src/node/offline-file.js';
import { quantizeFile } from '../src/node/quantize-file.js';
import { PADDLE_MODELS } from '../demo/paddle-models.js';
import { rng, mutate, type Mutator } from './mutate.js';

export interface Seed {
  name: string;
  bytes: Uint8Array;
  /** The input's shape, for the calibration data of static runs. */
  input: number[];
}

export const ACTIONS = ['inspect', 'dynamic', 'fp16', 'weight-only', 'static'] as const;

export interface Outcome {
  index: number;
  seed: string;
  mutator: Mutator;
  action: (typeof ACTIONS)[number];
  /** 'ok', the OnnxqError's code, or 'bug'. */
  result: string;
  message?: string;
}

function weights(name: string, dims: number[], seed: number) {
  const random = rng(seed);
  return floatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random() - 0.5));
}

function model(nodes: Parameters<typeof makeNode>[0][], initializers: ReturnType<typeof weights>[], input: number[], output: number[]): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'onnxq-fuzz',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })],
    graph: create(GraphProtoSchema, {
      name: 'seed',
      node: nodes.map((n) => makeNode(n)),
      initializer: initializers,
      input: [makeValueInfo('x', { dtype: 1, shape: input })],
      output: [makeValueInfo('y', { dtype: 1, shape: output })],
    }),
  });
}

/** Two small models built here (an MLP, a small CNN) and PaddleOCR's direction classifier from npm. */
export function seeds(): Seed[] {
  const mlp = model(
    [
      { opType: 'MatMul', name: 'mm', inputs: ['x', 'w1'], outputs: ['h'] },
      { opType: 'Add', name: 'bias', inputs: ['h', 'b1'], outputs: ['hb'] },
      { opType: 'Relu', name: 'relu', inputs: ['hb'], outputs: ['r'] },
      { opType: 'MatMul', name: 'mm2', inputs: ['r', 'w2'], outputs: ['y'] },
    ],
    [weights('w1', [16, 32], 1), weights('b1', [32], 2), weights('w2', [32, 8], 3)],
    [1, 16],
    [1, 8],
  );
  const cnn = model(
    [
      { opType: 'Conv', name: 'conv', inputs: ['x', 'k', 'kb'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
      { opType: 'Relu', name: 'relu', inputs: ['c'], outputs: ['r'] },
      { opType: 'GlobalAveragePool', name: 'gap', inputs: ['r'], outputs: ['g'] },
      { opType: 'Flatten', name: 'flat', inputs: ['g'], outputs: ['f'] },
      { opType: 'Gemm', name: 'fc', inputs: ['f', 'fw', 'fb'], outputs: ['y'], attrs: { transB: 1 } },
    ],
    [weights('k', [8, 3, 3, 3], 4), weights('kb', [8], 5), weights('fw', [4, 8], 6), weights('fb', [4], 7)],
    [1, 3, 8, 8],
    [1, 4],
  );
  return [
    { name: 'mlp', bytes: encodeModel(mlp).model, input: [1, 16] },
    { name: 'cnn', bytes: encodeModel(cnn).model, input: [1, 3, 8, 8] },
    { name: 'paddle-cls', bytes: fs.readFileSync(PADDLE_MODELS.cls), input: [1, 3, 48, 192] },
  ];
}

/** Writes each seed's calibration data (two random samples) into `dir`. */
export function writeCalibration(dir: string, all: readonly Seed[]): void {
  for (const s of all) {
    const random = rng(11);
    const n = s.input.reduce((a, b) => a * b, 1);
    writeNpy(path.join(dir, `${s.name}.npy`), { dtype: 'float32', dims: [2, ...s.input.slice(1)], data: Float32Array.from({ length: 2 * n }, () => random() - 0.5) });
  }
}

/** Runs mutant `index` of `seed` in `dir` (which holds the calibration data). */
export async function runMutant(seed: Seed, fuzzSeed: number, index: number, dir: string): Promise<Outcome> {
  const { mutator, bytes } = mutate(seed.bytes, fuzzSeed, index);
  const action = ACTIONS[Math.floor(index / 6) % ACTIONS.length]!;
  const file = path.join(dir, 'mutant.onnx');
  const out = path.join(dir, 'out.onnx');
  const calib = path.join(dir, `${seed.name}.npy`);
  fs.writeFileSync(file, bytes);
  const outcome: Outcome = { index, seed: seed.name, mutator, action, result: 'ok' };
  try {
    if (action === 'inspect') {
      // As `onnxq inspect` does: load, check, report.
      const { model } = loadModelFile(file);
      checkModel(model, file);
      inspectModel(model);
    }
    else if (action === 'static') await quantizeFile(file, out, { calib, calibSamples: 2, validate: false, threads: 1 });
    else await quantizeFileOffline(file, out, { mode: action, validate: false, threads: 1 });
  } catch (e) {
    if (e instanceof OnnxqError) {
      outcome.result = e.code;
      outcome.message = e.message;
      if (e.message.includes('\n')) [outcome.result, outcome.message] = ['bug', `an error of several lines: ${e.message}`];
    } else [outcome.result, outcome.message] = ['bug', e instanceof Error ? `${e.message} ${e.stack?.split('\n')[1]?.trim() ?? ''}` : String(e)];
  }
  const left = fs.readdirSync(dir).filter((f) => !f.endsWith('.npy') && f !== 'mutant.onnx' && !(outcome.result === 'ok' && f === 'out.onnx'));
  if (left.length) [outcome.result, outcome.message] = ['bug', `left behind: ${left.join(', ')}${outcome.message ? ` (after: ${outcome.message})` : ''}`];
  for (const f of fs.readdirSync(dir)) if (!f.endsWith('.npy')) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  return outcome;
}

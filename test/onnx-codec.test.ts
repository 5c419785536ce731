import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { encodeModel, decodeModel } from '../src/onnx/codec.js';
import { loadModelFile, saveModelFile, writeAllAtomic } from '../src/node/files.js';
import { OnnxqError } from '../src/errors.js';
import { PADDLE_MODELS as PADDLE } from '../demo/paddle-models.js';
import { tempDir } from './helpers/temp.js';
import { externalOf } from '../src/onnx/external.js';
import { forEachTensor } from '../src/onnx/walk.js';
import { sessionBytes } from '../src/onnx/session-bytes.js';
import { Runner } from '../src/runtime/runner.js';
import { clone, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProtoSchema } from 'onnx-buf';

describe('ONNX codec', () => {
  it('round-trips the PaddleOCR recognition model byte for byte', () => {
    const bytes = fs.readFileSync(PADDLE.rec);
    const model = decodeModel(bytes, PADDLE.rec);
    expect(Buffer.compare(Buffer.from(encodeModel(model).model), bytes)).toBe(0);
  });

  it('names the file when it is not ONNX', () => {
    const dir = tempDir();
    const f = path.join(dir, 'notes.onnx');
    fs.writeFileSync(f, 'this is plain text, not protobuf\n');
    expect(() => loadModelFile(f)).toThrow(OnnxqError);
    expect(() => loadModelFile(f)).toThrow(/notes\.onnx/);
  });

  it('reports a truncated file', () => {
    const dir = tempDir();
    const f = path.join(dir, 'cut.onnx');
    fs.writeFileSync(f, fs.readFileSync(PADDLE.cls).subarray(0, 100_000));
    expect(() => loadModelFile(f)).toThrow(/truncated|not an ONNX/);
  });

  it('saves and reloads with external data, leaving nothing half-written', () => {
    const dir = tempDir();
    const { model } = loadModelFile(PADDLE.cls);
    const out = path.join(dir, 'cls.onnx');
    const saved = saveModelFile(model, out, { externalData: true });
    expect(saved.data).toBe(out + '.data');
    expect(fs.readdirSync(dir).sort()).toEqual(['cls.onnx', 'cls.onnx.data']);
    const again = loadModelFile(out);
    expect(Buffer.compare(Buffer.from(encodeModel(again.model).model), fs.readFileSync(PADDLE.cls))).toBe(0);
  });
});

describe('round trips through quantization', () => {
  it('keeps unknown fields and other opset domains; same inputs give byte-identical outputs', async () => {
    const { create, toBinary } = await import('@bufbuild/protobuf');
    const { ModelProtoSchema, OperatorSetIdProtoSchema } = await import('onnx-buf');
    const { quantize } = await import('../src/quantize.js');
    const { memorySource } = await import('../src/data/memory.js');
    const { buildModel, randomSamples, randomWeight } = await import('./helpers/build.js');
    const model = buildModel({
      inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
      outputs: [{ name: 'y' }],
      initializers: [randomWeight('w', [4, 3, 3, 3], 1)],
      nodes: [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: 'com.example.custom', version: 3n }));
    // Field 99 of ModelProto (varint 42), as a newer onnx.proto might write it.
    const withUnknown = new Uint8Array([...toBinary(ModelProtoSchema, model), 0x98, 0x06, 42]);
    const decoded = decodeModel(withUnknown, 'with-unknown.onnx');
    expect(Buffer.compare(Buffer.from(encodeModel(decoded).model), Buffer.from(withUnknown))).toBe(0);
    const samples = randomSamples('x', [1, 3, 8, 8], 12);
    const a = await quantize(decoded, memorySource(samples), { validate: false });
    const b = await quantize(decoded, memorySource(samples), { validate: false });
    const bytes = encodeModel(a.model).model;
    expect(Buffer.compare(Buffer.from(bytes), Buffer.from(encodeModel(b.model).model))).toBe(0);
    expect(Buffer.from(bytes.subarray(bytes.length - 3))).toEqual(Buffer.from([0x98, 0x06, 42]));
    expect(a.model.opsetImport.map((o) => `${o.domain}:${o.version}`)).toContain('com.example.custom:3');
    expect(Buffer.compare(Buffer.from(encodeModel(decoded).model), Buffer.from(withUnknown))).toBe(0); // input untouched
  });

  it('writes a set of files all or none', () => {
    const dir = tempDir();
    const a = path.join(dir, 'a.onnx');
    // writing fails (no such folder): nothing of the set is left, not even the file written first
    expect(() => writeAllAtomic([{ file: a, chunks: 'model' }, { file: path.join(dir, 'missing', 'b.json'), chunks: '{}' }])).toThrow(/cannot write .*b\.json/);
    expect(fs.readdirSync(dir)).toEqual([]);
    // renaming fails (the target is a folder): the file already renamed into place goes too
    fs.mkdirSync(path.join(dir, 'c.json', 'inside'), { recursive: true });
    expect(() => writeAllAtomic([{ file: a, chunks: 'model' }, { file: path.join(dir, 'c.json'), chunks: '{}' }])).toThrow(/cannot write .*c\.json/);
    expect(fs.readdirSync(dir)).toEqual(['c.json']);
    expect(writeAllAtomic([{ file: a, chunks: [new Uint8Array(3), new Uint8Array(2)] }, { file: path.join(dir, 'd.json'), chunks: '{}' }])).toEqual([5, 2]);
    expect(fs.readdirSync(dir).sort()).toEqual(['a.onnx', 'c.json', 'd.json']);
    // two outputs for one path are refused before anything is written
    expect(() => writeAllAtomic([{ file: path.join(dir, 'e.json'), chunks: '1' }, { file: path.join(dir, '.', 'e.json'), chunks: '2' }])).toThrow(/two outputs would be written to .*e\.json/);
    expect(fs.existsSync(path.join(dir, 'e.json'))).toBe(false);
  });

  it('a write that fails halfway (a full disk) leaves no temporary file', () => {
    const dir = tempDir();
    let calls = 0;
    const spy = vi.spyOn(fs, 'writeSync').mockImplementation(() => {
      if (++calls === 2) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      return 1; // one byte at a time
    });
    try {
      expect(() => writeAllAtomic([{ file: path.join(dir, 'm.onnx'), chunks: 'abc' }])).toThrow(/cannot write .*m\.onnx: ENOSPC/);
    } finally {
      spy.mockRestore();
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('external data stays on disk', () => {
  it('a loaded model keeps its weights in their file until read; encoded inline or saved elsewhere, the bytes are the same', () => {
    const dir = tempDir();
    const src = path.join(dir, 'cls.onnx');
    saveModelFile(loadModelFile(PADDLE.cls).model, src, { externalData: true });
    const { model } = loadModelFile(src);
    let external = 0;
    let inMemory = 0;
    forEachTensor(model.graph!, (t) => {
      if (externalOf(t)) {
        external++;
        inMemory += t.rawData.length;
      }
    });
    expect(external).toBeGreaterThan(10);
    expect(inMemory).toBe(0); // nothing read yet
    // Read on demand; the model's own bytes again when encoded inline, or saved with data of its own.
    expect(Buffer.compare(Buffer.from(encodeModel(model).model), fs.readFileSync(PADDLE.cls))).toBe(0);
    const out = path.join(dir, 'copy.onnx');
    saveModelFile(model, out, { externalData: true });
    expect(Buffer.compare(Buffer.from(encodeModel(loadModelFile(out).model).model), fs.readFileSync(PADDLE.cls))).toBe(0);
    // Still not read into the model: encoding read each tensor and let it go.
    forEachTensor(model.graph!, (t) => expect(t.rawData.length === 0 || !externalOf(t)).toBe(true));
  });
});

describe('bytes for onnxruntime (sessionBytes)', () => {
  it('splices large initializers in as a second graph field: the same model, and onnxruntime runs it alike', async () => {
    const model = decodeModel(fs.readFileSync(PADDLE.rec), PADDLE.rec);
    const bytes = sessionBytes(model);
    const plain = encodeModel(model).model;
    expect(bytes.length).toBeLessThan(plain.length + 16); // one more graph key, and each tensor's raw_data key moved
    // Parsed back (protobuf merges the two graph fields), it is the model, with its initializers reordered.
    const parsed = fromBinary(ModelProtoSchema, bytes);
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
    const encoded = new Map(model.graph!.initializer.map((t) => [t.name, toBinary(TensorProtoSchema, t)]));
    expect(parsed.graph!.initializer.length).toBe(encoded.size);
    expect(parsed.graph!.initializer.filter((t) => !same(toBinary(TensorProtoSchema, t), encoded.get(t.name)!)).map((t) => t.name)).toEqual([]);
    parsed.graph!.initializer = [];
    const rest = clone(ModelProtoSchema, model);
    rest.graph!.initializer = [];
    expect(same(toBinary(ModelProtoSchema, parsed), toBinary(ModelProtoSchema, rest))).toBe(true);
    // The model in memory is left as it was.
    expect(same(encodeModel(model).model, plain)).toBe(true);
    const x = { dtype: 'float32', dims: [1, 3, 48, 320], data: Float32Array.from({ length: 3 * 48 * 320 }, (_, i) => Math.sin(i)) };
    const [a, b] = await Promise.all(
      [plain, bytes].map(async (m) => {
        const runner = await Runner.create(m, { threads: 1 });
        const out = await runner.run({ [runner.inputNames[0]!]: x });
        await runner.release();
        return out;
      }),
    );
    const [ya, yb] = [a, b].map((r) => Object.values(r!)[0]!.data as Float32Array);
    expect(ya!.length).toBeGreaterThan(0);
    expect(same(new Uint8Array(yb!.buffer, yb!.byteOffset, yb!.byteLength), new Uint8Array(ya!.buffer, ya!.byteOffset, ya!.byteLength))).toBe(true);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeModel, decodeModel } from '../src/onnx/codec.js';
import { loadModelFile, saveModelFile } from '../src/node/files.js';
import { OnnxqError } from '../src/errors.js';
import { PADDLE } from './helpers/models.js';

describe('ONNX codec', () => {
  it('round-trips the PaddleOCR recognition model byte for byte', () => {
    const bytes = fs.readFileSync(PADDLE.rec);
    const model = decodeModel(bytes, PADDLE.rec);
    expect(Buffer.compare(Buffer.from(encodeModel(model).model), bytes)).toBe(0);
  });

  it('names the file when it is not ONNX', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-'));
    const f = path.join(dir, 'notes.onnx');
    fs.writeFileSync(f, 'this is plain text, not protobuf\n');
    expect(() => loadModelFile(f)).toThrow(OnnxqError);
    expect(() => loadModelFile(f)).toThrow(/notes\.onnx/);
  });

  it('reports a truncated file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-'));
    const f = path.join(dir, 'cut.onnx');
    fs.writeFileSync(f, fs.readFileSync(PADDLE.cls).subarray(0, 100_000));
    expect(() => loadModelFile(f)).toThrow(/truncated|not an ONNX/);
  });

  it('saves and reloads with external data, leaving nothing half-written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-'));
    const { model } = loadModelFile(PADDLE.cls);
    const out = path.join(dir, 'cls.onnx');
    const saved = saveModelFile(model, out, { externalData: true });
    expect(saved.data).toBe(out + '.data');
    expect(fs.readdirSync(dir).sort()).toEqual(['cls.onnx', 'cls.onnx.data']);
    const again = loadModelFile(out);
    expect(Buffer.compare(Buffer.from(encodeModel(again.model).model), fs.readFileSync(PADDLE.cls))).toBe(0);
  });
});

/** PaddleOCR tasks for tests: calibration sets and the accuracy each model is judged by. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import {
  PADDLE_MODELS,
  boxContrast,
  clsInput,
  ctcDecode,
  detInput,
  itemSeed,
  loadKeys,
  recInput,
  renderDetPage,
  renderTextLine,
  textLines,
  upsideDown,
  writeCalibrationSet,
} from '../../demo/paddle-ocr.js';
import { sqnr } from '../../src/analyze/metrics.js';

export type PaddleTask = 'det' | 'rec' | 'cls';

/** A .npy of `count` preprocessed samples, written to a temporary folder. */
export function calibrationFile(task: PaddleTask, count: number, seed = 7): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `onnxq-${task}-`));
  return writeCalibrationSet(task, dir, count, seed).file;
}

async function session(model: string | ModelProto) {
  return ort.InferenceSession.create(typeof model === 'string' ? model : toBinary(ModelProtoSchema, model));
}

export interface RecScore {
  exact: number;
  chars: number;
  /** Lines the model reads exactly as the float model does. */
  agree: number;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** Greedy-CTC reading of `count` rendered lines (different from the calibration lines). */
export async function recScore(model: string | ModelProto, count: number, seed = 99): Promise<{ score: RecScore; texts: string[] }> {
  const s = await session(model);
  const keys = loadKeys();
  const lines = textLines(count, seed);
  let exact = 0;
  let chars = 0;
  let total = 0;
  const texts: string[] = [];
  for (const [i, line] of lines.entries()) {
    const t = recInput(renderTextLine(line, { seed: itemSeed(seed, i) }));
    const out = await s.run({ x: new ort.Tensor('float32', t.data, t.dims) });
    const o = out[s.outputNames[0]!]!;
    const text = ctcDecode(o.data as Float32Array, o.dims, keys);
    texts.push(text);
    if (text === line) exact++;
    chars += Math.max(0, line.length - editDistance(text, line));
    total += line.length;
  }
  await s.release();
  return { score: { exact: exact / count, chars: chars / total, agree: 0 }, texts };
}

/** Share of lines whose 0°/180° direction the classifier gets right (half are upside down). */
export async function clsAccuracy(model: string | ModelProto, count: number, seed = 99): Promise<number> {
  const s = await session(model);
  const lines = textLines(count, seed);
  let right = 0;
  for (const [i, line] of lines.entries()) {
    const flip = i % 2 === 1;
    const image = renderTextLine(line, { seed: itemSeed(seed, i) });
    const t = clsInput(flip ? upsideDown(image) : image);
    const out = await s.run({ x: new ort.Tensor('float32', t.data, t.dims) });
    const p = out[s.outputNames[0]!]!.data as Float32Array;
    if ((p[1]! > p[0]!) === flip) right++;
  }
  await s.release();
  return right / count;
}

/** Detection maps on rendered pages: mean probability inside/outside the text boxes, and SQNR vs a reference. */
export async function detMaps(model: string | ModelProto, pages: number, seed = 99): Promise<{ inside: number; outside: number; maps: Float32Array[] }> {
  const s = await session(model);
  let inside = 0;
  let outside = 0;
  const maps: Float32Array[] = [];
  for (let i = 0; i < pages; i++) {
    const page = renderDetPage(itemSeed(seed, i));
    const t = detInput(page.image);
    const out = await s.run({ x: new ort.Tensor('float32', t.data, t.dims) });
    const map = out[s.outputNames[0]!]!.data as Float32Array;
    const c = boxContrast(map, t.dims[3], t.dims[2], page.boxes);
    inside += c.inside / pages;
    outside += c.outside / pages;
    maps.push(map);
  }
  await s.release();
  return { inside, outside, maps };
}

export function mapSqnr(reference: Float32Array[], test: Float32Array[]): number {
  const a = new Float32Array(reference.reduce((n, m) => n + m.length, 0));
  const b = new Float32Array(a.length);
  let off = 0;
  for (const [i, m] of reference.entries()) {
    a.set(m, off);
    b.set(test[i]!, off);
    off += m.length;
  }
  return sqnr(a, b);
}

export { PADDLE_MODELS };

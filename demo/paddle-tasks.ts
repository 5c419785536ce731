/**
 * How well a PaddleOCR model (float or int8) does its task on rendered data it has not seen: lines
 * read (recognition), text direction told (classifier), text found inside the true boxes (detection).
 * The demo, the tests and the bench all judge models with these.
 */
import * as ort from 'onnxruntime-node';
import { boxContrast, clsInput, ctcDecode, detInput, loadKeys, recInput, type InputTensor } from './paddle-ocr.js';
import { itemSeed, renderDetPage, renderTextLine, textLines, upsideDown } from './render.js';

/** A model as a file path or as bytes. */
export type ModelRef = string | Uint8Array;

/** Runs `use` with a session on the model, released afterwards whatever happens. */
async function withSession<T>(model: ModelRef, threads: number | undefined, use: (s: ort.InferenceSession) => Promise<T>): Promise<T> {
  const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) };
  const s = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  try {
    return await use(s);
  } finally {
    await s.release();
  }
}

const tensor = (t: InputTensor) => new ort.Tensor('float32', t.data, t.dims);

/** Levenshtein distance between two strings, over code points. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[y.length]!;
}

export interface Reading {
  /** Share of lines read exactly, and of characters right (1 − edit distance / length). */
  exact: number;
  chars: number;
  texts: string[];
}

/** Greedy-CTC reading of `count` rendered lines. */
export async function readLines(model: ModelRef, count: number, seed: number, threads?: number): Promise<Reading> {
  return withSession(model, threads, async (s) => {
    const keys = loadKeys();
    const lines = textLines(count, seed);
    let exact = 0;
    let right = 0;
    let total = 0;
    const texts: string[] = [];
    for (const [i, line] of lines.entries()) {
      const out = await s.run({ x: tensor(recInput(renderTextLine(line, { seed: itemSeed(seed, i) }))) });
      const o = out[s.outputNames[0]!]!;
      const text = ctcDecode(o.data as Float32Array, o.dims, keys);
      texts.push(text);
      if (text === line) exact++;
      const length = [...line].length;
      right += Math.max(0, length - editDistance(text, line));
      total += length;
    }
    return { exact: exact / count, chars: right / total, texts };
  });
}

/** Share of `count` rendered lines, every second one upside down, whose direction the classifier tells. */
export async function tellDirections(model: ModelRef, count: number, seed: number, threads?: number): Promise<number> {
  return withSession(model, threads, async (s) => {
    let right = 0;
    for (const [i, line] of textLines(count, seed).entries()) {
      const flip = i % 2 === 1;
      const image = renderTextLine(line, { seed: itemSeed(seed, i) });
      const out = await s.run({ x: tensor(clsInput(flip ? upsideDown(image) : image)) });
      const p = out[s.outputNames[0]!]!.data as Float32Array;
      if (p[1]! > p[0]! === flip) right++;
    }
    return right / count;
  });
}

export interface Detection {
  /** Mean text probability inside the true line boxes and outside them, over the pages. */
  inside: number;
  outside: number;
  maps: Float32Array[];
}

/** Detection probability maps of `pages` rendered 320×320 pages. */
export async function findText(model: ModelRef, pages: number, seed: number, threads?: number): Promise<Detection> {
  return withSession(model, threads, async (s) => {
    let inside = 0;
    let outside = 0;
    const maps: Float32Array[] = [];
    for (let i = 0; i < pages; i++) {
      const page = renderDetPage(itemSeed(seed, i));
      const t = detInput(page.image);
      const out = await s.run({ x: tensor(t) });
      const map = out[s.outputNames[0]!]!.data as Float32Array;
      const c = boxContrast(map, t.dims[3], t.dims[2], page.boxes);
      inside += c.inside / pages;
      outside += c.outside / pages;
      maps.push(map);
    }
    return { inside, outside, maps };
  });
}

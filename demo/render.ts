/**
 * Text lines and pages drawn at run time for onnxq's demo, tests and bench: @napi-rs/canvas with the
 * DejaVu fonts of the dejavu-fonts-ttf package (never system fonts), seeded so that every image can be
 * drawn again alike. Text is what PaddleOCR's recognizer can read: words, numbers, dates, prices, codes.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { fail } from '../src/errors.js';
import { createRng, type Rng } from '../src/data/random.js';
import { loadKeys } from './paddle-models.js';

const require = createRequire(import.meta.url);
const FONT_DIR = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');

/** An 8-bit RGBA image, row-major, fully opaque. */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
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
const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.nextBelow(items.length)]!;
const intIn = (rng: Rng, lo: number, hi: number): number => lo + rng.nextBelow(hi - lo + 1);
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
  switch (rng.nextBelow(4)) {
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


/**
 * PaddleOCR samples for the bench, rendered by demo/paddle-ocr.ts: lazy calibration sources (sample i
 * is drawn when loaded and not kept, so a source holds nothing however many samples it has) and
 * evaluation sets with their ground truth (text, direction, boxes). Calibration and evaluation use
 * different seeds, so the int8 model is never scored on what it was calibrated on.
 */
import {
  PADDLE_MODELS, clsInput, detInput, itemSeed, recInput, renderDetPage, renderTextLine, textLines,
  type Box, type InputTensor, type RgbaImage,
} from '../demo/paddle-ocr.js';
import type { CalibrationSource, Sample } from '../src/index.js';

export type OcrKind = 'det' | 'rec' | 'cls';
export const OCR_KINDS: OcrKind[] = ['det', 'rec', 'cls'];
export const OCR_MODELS: Record<OcrKind, string> = { det: PADDLE_MODELS.det, rec: PADDLE_MODELS.rec, cls: PADDLE_MODELS.cls };
/** Calibration and benchmark input shapes: det 320×320 pages, rec 48×320 lines, cls 48×192 lines. */
export const OCR_SHAPES: Record<OcrKind, number[]> = { det: [1, 3, 320, 320], rec: [1, 3, 48, 320], cls: [1, 3, 48, 192] };
export const CALIBRATION_SEED = 1;
export const EVALUATION_SEED = 7_000_001;
const INPUT = 'x';
const REC_WIDTH = 320;

const asSample = (t: InputTensor): Sample => ({ [INPUT]: { dtype: 'float32', dims: t.dims, data: t.data } });

/** Text line i of a set: up to four tries at a line that fits `width` at height 48 (else squeezed, as PaddleOCR does). */
function line(seed: number, i: number, width?: number): { text: string; image: RgbaImage } {
  let last: { text: string; image: RgbaImage } | undefined;
  for (let t = 0; t < 4; t++) {
    const k = 4 * i + t;
    const text = textLines(1, itemSeed(seed, k))[0]!;
    const image = renderTextLine(text, { seed: itemSeed(seed ^ 0x5bd1e995, k) });
    last = { text, image };
    if (width === undefined || Math.ceil((48 * image.width) / image.height) <= width) break;
  }
  return last!;
}

const flipped = (seed: number, i: number): boolean => (itemSeed(seed ^ 0x2545f491, i) & 1) === 1;

/** Calibration sample i of a kind: det a 320×320 page, rec a line at 48×320, cls a line at 48×192 (about half upside down). */
export function ocrSample(kind: OcrKind, i: number, seed = CALIBRATION_SEED): Sample {
  if (kind === 'det') return asSample(detInput(renderDetPage(itemSeed(seed, i)).image));
  if (kind === 'rec') return asSample(recInput(line(seed, i, REC_WIDTH).image, REC_WIDTH));
  return asSample(clsInput(line(seed, i).image, flipped(seed, i)));
}

export interface LazySource extends CalibrationSource {
  /** Samples drawn so far and the milliseconds drawing them took. */
  readonly stats: { loads: number; renderMs: number };
}

/** A source whose load(i) renders sample i on demand; it keeps no sample. */
export function lazySource(kind: OcrKind, count: number, seed = CALIBRATION_SEED): LazySource {
  const stats = { loads: 0, renderMs: 0 };
  return {
    description: `${count} ${kind} samples rendered on demand`,
    count,
    stats,
    load: async (i: number) => {
      const t = performance.now();
      const s = ocrSample(kind, i, seed);
      stats.renderMs += performance.now() - t;
      stats.loads++;
      return s;
    },
  };
}

/**
 * How many samples a source needs so that calibration uses exactly `n`: onnxq holds out
 * min(64, max(1, round(count/10))) samples for validation (src/data/select.ts).
 */
export function sourceCountFor(n: number): number {
  let c = n + 1;
  while (c - Math.min(64, Math.max(1, Math.round(c / 10))) < n) c++;
  return c;
}

export interface RecItem { text: string; sample: Sample }
export interface ClsItem { rotated: boolean; sample: Sample }
export interface DetItem { boxes: Box[]; sample: Sample; width: number; height: number }

/** Lines at PaddleOCR's own width (max(320, 48·w/h)), with their text. */
export function recEvaluation(n: number, seed = EVALUATION_SEED): RecItem[] {
  return Array.from({ length: n }, (_, i) => {
    const { text, image } = line(seed, i);
    return { text, sample: asSample(recInput(image)) };
  });
}

/** Lines at 48×192, every other one turned by 180°. */
export function clsEvaluation(n: number, seed = EVALUATION_SEED): ClsItem[] {
  return Array.from({ length: n }, (_, i) => {
    const rotated = i % 2 === 1;
    return { rotated, sample: asSample(clsInput(line(seed, i).image, rotated)) };
  });
}

/** 320×320 pages with their line boxes. */
export function detEvaluation(n: number, seed = EVALUATION_SEED): DetItem[] {
  return Array.from({ length: n }, (_, i) => {
    const page = renderDetPage(itemSeed(seed, i));
    return { boxes: page.boxes, sample: asSample(detInput(page.image)), width: page.image.width, height: page.image.height };
  });
}

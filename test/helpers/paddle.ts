/** PaddleOCR for tests: calibration sets written to a temporary folder, and the models as bytes. */
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { writeCalibrationSet } from '../../demo/paddle-ocr.js';
import { sqnr } from '../../src/analyze/metrics.js';
import { tempDir } from './temp.js';

export { PADDLE_MODELS } from '../../demo/paddle-models.js';
export { findText, readLines, tellDirections } from '../../demo/paddle-tasks.js';

export type PaddleTask = 'det' | 'rec' | 'cls';

/** A .npy of `count` preprocessed samples, written to a temporary folder. */
export function calibrationFile(task: PaddleTask, count: number, seed = 7): string {
  const dir = tempDir(`onnxq-${task}-`);
  return writeCalibrationSet(task, dir, count, seed).file;
}

export const bytes = (model: ModelProto) => toBinary(ModelProtoSchema, model);

/** SQNR of all maps of a test run against the maps of a reference run. */
export function mapSqnr(reference: Float32Array[], test: Float32Array[]): number {
  const join = (maps: Float32Array[]) => {
    const out = new Float32Array(maps.reduce((n, m) => n + m.length, 0));
    let off = 0;
    for (const m of maps) {
      out.set(m, off);
      off += m.length;
    }
    return out;
  };
  return sqnr(join(reference), join(test));
}

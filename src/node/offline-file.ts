/**
 * quantizeFileOffline(): dynamic, weight-only or float16 quantization of a model file, written
 * atomically; validated on the calibration data when a path is given, else on synthetic samples.
 */
import fs from 'node:fs';
// Runs models, and may be imported without index.ts (the CLI does): gives the core onnxruntime-node.
import './runtime.js';
import { openCalibration } from '../data/open.js';
import { checkModel } from '../ir/check.js';
import type { ImageOptions } from '../data/images.js';
import { quantizeOffline, type OfflineOptions, type OfflineResult } from '../offline.js';
import { modelInputs } from '../data/inputs.js';
import { assertWritable, loadModelFile, saveModelFile } from './files.js';

export interface OfflineFileOptions extends OfflineOptions {
  /** Optional samples to validate on (.npy, .npz, folder of .npy files or images). */
  calib?: string;
  image?: ImageOptions;
  externalData?: boolean;
}

export interface OfflineFileResult extends OfflineResult {
  files: { model: string; data?: string };
  bytes: { input: number; output: number };
  notes: string[];
}

export async function quantizeFileOffline(input: string, output: string, options: OfflineFileOptions): Promise<OfflineFileResult> {
  const loadStart = performance.now();
  const { model, externalFiles } = loadModelFile(input);
  checkModel(model, input);
  const loadMs = performance.now() - loadStart;
  const protect = [input, ...externalFiles, ...(options.calib ? [options.calib] : [])];
  assertWritable(output, protect);
  const source = options.calib ? await openCalibration(options.calib, modelInputs(model, options.inputShapes), options.image ?? {}) : undefined;
  // The model was read for this call alone: rewrite it in place, and let onnxruntime read the float
  // model again from its file (with its external data) for the comparison.
  const result = await quantizeOffline(model, options, source, { consume: true, floatModelFile: input });
  const saveStart = performance.now();
  const saved = saveModelFile(result.model, output, { externalData: options.externalData, protect });
  result.timings.stages = { load: loadMs, ...result.timings.stages, save: performance.now() - saveStart };
  const inputBytes = fs.statSync(input).size + externalFiles.reduce((a, f) => a + fs.statSync(f).size, 0);
  return {
    ...result,
    files: { model: output, ...(saved.data ? { data: saved.data } : {}) },
    bytes: { input: inputBytes, output: saved.bytes },
    notes: [...(source?.notes ?? [])],
  };
}

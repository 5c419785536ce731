/**
 * qatFile(): quantization-aware training of a model file on data from a path (and labels from a .npy),
 * writing the trained QDQ model and its side files all or none, after training has succeeded: a run that
 * fails (a diverging loss, bad labels) writes nothing. The input model and data files are never written.
 */
import fs from 'node:fs';
// Runs models, and may be imported without index.ts (the CLI does): gives the core onnxruntime-node.
import './runtime.js';
import { openCalibration } from '../data/open.js';
import type { ImageOptions } from '../data/images.js';
import { readNpy } from '../data/npy-file.js';
import { modelInputs } from '../data/inputs.js';
import { fail } from '../errors.js';
import { checkModel } from '../ir/check.js';
import { qat, type QatOptions, type QatResult } from '../qat.js';
import { assertOutputs, loadModelFile, saveModelFile } from './files.js';
import { planSideFiles } from './quantize-file.js';

export interface QatFileOptions extends Omit<QatOptions, 'labels'> {
  /** Training data: .npy, .npz, a folder of .npy files or a folder of images (also calibrates the initial ranges). */
  data: string;
  /** A .npy of class indices, one per sample of `data` in its order. */
  labels?: string;
  image?: ImageOptions;
  inputShapes?: Record<string, number[]>;
  savePlan?: string;
  saveRanges?: string;
  externalData?: boolean;
}

export interface QatFileResult extends QatResult {
  files: { model: string; data?: string; plan?: string; ranges?: string };
  bytes: { input: number; output: number };
  notes: string[];
}

export async function qatFile(input: string, output: string, options: QatFileOptions): Promise<QatFileResult> {
  const { model, externalFiles } = loadModelFile(input);
  checkModel(model, input);
  const protect = [input, ...externalFiles, options.data, ...(options.labels ? [options.labels] : [])];
  assertOutputs(output, [options.savePlan, options.saveRanges], protect);

  const source = await openCalibration(options.data, modelInputs(model, options.inputShapes), options.image ?? {});
  const { labels: labelsPath, ...rest } = options;
  const labels = labelsPath ? labelsFile(labelsPath) : undefined;
  const result = await qat(model, source, { ...rest, ...(labels ? { labels } : {}), floatModelFile: input }, { consume: true });

  const { sideFiles, files: planFiles } = planSideFiles(result, options);
  const files: QatFileResult['files'] = { model: output, ...planFiles };
  const saved = saveModelFile(result.model, output, { externalData: options.externalData, protect }, sideFiles);
  if (saved.data) files.data = saved.data;
  const inputBytes = fs.statSync(input).size + externalFiles.reduce((a, f) => a + fs.statSync(f).size, 0);
  return { ...result, files, bytes: { input: inputBytes, output: saved.bytes }, notes: [...(source.notes ?? [])] };
}

function labelsFile(file: string) {
  if (!file.toLowerCase().endsWith('.npy')) fail('BAD_OPTION', `--labels takes a .npy of class indices (one integer per sample); got ${file}.`);
  return { ...readNpy(file), description: file };
}

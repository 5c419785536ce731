/**
 * quantizeFile(): quantize a model file with calibration data from a path, and write the result
 * and its side files (plan, ranges, TensorRT cache) all or none. Every output path is checked before
 * any work starts, and the input model and its data files are never written.
 */
import fs from 'node:fs';
// Runs models, and may be imported without index.ts (the CLI does): gives the core onnxruntime-node.
import './runtime.js';
import { openCalibration } from '../data/open.js';
import type { ImageOptions } from '../data/images.js';
import { OnnxqError } from '../errors.js';
import { checkModel } from '../ir/check.js';
import { calibrationCacheFor } from '../export/trt-cache.js';
import { parsePlan } from '../plan/json.js';
import { modelInputs } from '../data/inputs.js';
import { quantize, type QuantizeOptions, type QuantizeResult } from '../quantize.js';
import { analyzeModels } from '../analyze/analyze.js';
import { renderReport } from '../analyze/html.js';
import { rangeMethodOf } from '../refine/methods.js';
import { assertOutputs, loadModelFile, readFileOrFail, saveModelFile, type PendingFile } from './files.js';

export interface QuantizeFileOptions extends Omit<QuantizeOptions, 'plan'> {
  /** Calibration data: .npy, .npz, a folder of .npy files or a folder of images. */
  calib: string;
  image?: ImageOptions;
  /** Fixed sizes for symbolic input dimensions. */
  inputShapes?: Record<string, number[]>;
  /** A plan file (from --save-plan, perhaps edited) to use instead of building one. */
  planFile?: string;
  savePlan?: string;
  saveRanges?: string;
  /** Write a TensorRT calibration cache here. */
  calibCache?: string;
  trtVersion?: string;
  /** Store weights in a separate data file (always done past 2 GiB). */
  externalData?: boolean;
  /** Write the analysis of the model made (analyze/analyze.ts) as one HTML file here. */
  report?: string;
}

export interface QuantizeFileResult extends QuantizeResult {
  files: { model: string; data?: string; plan?: string; ranges?: string; calibCache?: string; report?: string };
  bytes: { input: number; output: number };
  notes: string[];
}

export async function quantizeFile(input: string, output: string, options: QuantizeFileOptions): Promise<QuantizeFileResult> {
  const loadStart = performance.now();
  const { model, externalFiles } = loadModelFile(input);
  checkModel(model, input);
  const loadMs = performance.now() - loadStart;
  // Outputs must not overwrite any input: the model, its data files, the calibration data, the plan.
  const protect = [input, ...externalFiles, options.calib, ...(options.planFile ? [options.planFile] : [])];
  assertOutputs(output, [options.savePlan, options.saveRanges, options.calibCache, options.report], protect);

  const inputs = modelInputs(model, options.inputShapes);
  const source = await openCalibration(options.calib, inputs, options.image ?? {});
  // The plan names tensors of the prepared graph; quantize() checks it against that.
  const plan = options.planFile ? parsePlan(new TextDecoder().decode(readFileOrFail(options.planFile, 'plan')), options.planFile) : undefined;
  // The model was read for this call alone: prepared and exported in place, and validated against its file.
  const result = await quantize(model, source, { ...options, ...(plan ? { plan } : {}), tensorrtCache: !!options.calibCache, floatModelFile: input }, { consume: true });

  const notes = [...(source.notes ?? [])];
  const { sideFiles, files: planFiles } = planSideFiles(result, options);
  const files: QuantizeFileResult['files'] = { model: output, ...planFiles };
  if (options.calibCache && result.tensorrtAmax) {
    const cache = calibrationCacheFor(result.tensorrtAmax, rangeMethodOf(options.method ?? 'minmax'), options.trtVersion);
    sideFiles.push({ file: options.calibCache, chunks: cache.text });
    files.calibCache = options.calibCache;
    if (cache.note) notes.push(cache.note);
  }
  if (options.report) {
    // The float model again, as the file holds it: the one given was prepared in place. A report that
    // cannot be made (e.g. a model onnxruntime cannot run switchable) does not cost the model.
    try {
      const analysis = await analyzeModels(loadModelFile(input).model, result.model, source, {
        seed: options.seed,
        threads: options.threads,
        labels: { float: input, quantized: output },
        onProgress: options.onProgress,
      });
      if (result.mixedPrecision) analysis.mixedPrecision = result.mixedPrecision;
      if (result.methods) analysis.methods = result.methods;
      sideFiles.push({ file: options.report, chunks: renderReport(analysis) });
      files.report = options.report;
    } catch (e) {
      if (!(e instanceof OnnxqError)) throw e;
      result.warnings.push(`the report was not written: ${e.message}`);
    }
  }
  // The model and every side file land together or not at all.
  const saveStart = performance.now();
  const saved = saveModelFile(result.model, output, { externalData: options.externalData, protect }, sideFiles);
  result.timings.stages = { load: loadMs, ...result.timings.stages, save: performance.now() - saveStart };
  if (saved.data) files.data = saved.data;
  const inputBytes = fs.statSync(input).size + externalFiles.reduce((a, f) => a + fs.statSync(f).size, 0);
  return { ...result, files, bytes: { input: inputBytes, output: saved.bytes }, notes };
}

/** The plan and ranges JSON files asked for (--save-plan, --save-ranges), to write with the model. */
export function planSideFiles(result: Pick<QuantizeResult, 'plan' | 'ranges'>, options: { savePlan?: string; saveRanges?: string }): { sideFiles: PendingFile[]; files: { plan?: string; ranges?: string } } {
  const sideFiles: PendingFile[] = [];
  const files: { plan?: string; ranges?: string } = {};
  if (options.savePlan) {
    sideFiles.push({ file: options.savePlan, chunks: JSON.stringify(result.plan, null, 2) + '\n' });
    files.plan = options.savePlan;
  }
  if (options.saveRanges) {
    sideFiles.push({ file: options.saveRanges, chunks: JSON.stringify(result.ranges, null, 2) + '\n' });
    files.ranges = options.saveRanges;
  }
  return { sideFiles, files };
}

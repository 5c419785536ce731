/**
 * analyzeFiles(): analyse a quantized model file against its float model file on calibration data from
 * a path, and write the JSON and the HTML report all or none. Output paths are checked before any work.
 */
import './runtime.js';
import { renderReport } from '../analyze/html.js';
import { analyzeModels, type AnalyzeOptions } from '../analyze/analyze.js';
import { reportJson, type AnalysisReport } from '../analyze/report.js';
import { openCalibration } from '../data/open.js';
import type { ImageOptions } from '../data/images.js';
import { modelInputs } from '../data/inputs.js';
import { checkModel } from '../ir/check.js';
import { assertWritable, loadModelFile, writeAllAtomic, type PendingFile } from './files.js';

export interface AnalyzeFileOptions extends Omit<AnalyzeOptions, 'labels'> {
  calib: string;
  image?: ImageOptions;
  inputShapes?: Record<string, number[]>;
  /** Write the report as one self-contained HTML file here. */
  report?: string;
  /** Write the report as JSON here. */
  json?: string;
}

export async function analyzeFiles(floatFile: string, quantizedFile: string, options: AnalyzeFileOptions): Promise<AnalysisReport> {
  const outputs = [options.report, options.json].filter((f): f is string => !!f);
  const f = loadModelFile(floatFile);
  const q = loadModelFile(quantizedFile);
  const protect = [floatFile, quantizedFile, ...f.externalFiles, ...q.externalFiles, options.calib];
  for (const out of outputs) assertWritable(out, protect);
  checkModel(f.model, floatFile);
  checkModel(q.model, quantizedFile);
  const source = await openCalibration(options.calib, modelInputs(f.model, options.inputShapes), options.image ?? {});
  const report = await analyzeModels(f.model, q.model, source, { ...options, labels: { float: floatFile, quantized: quantizedFile } });
  writeReports(report, options);
  return report;
}

/** The HTML and JSON renderings of a report, written together. */
export function writeReports(report: AnalysisReport, files: { report?: string; json?: string }): void {
  const pending: PendingFile[] = [];
  if (files.report) pending.push({ file: files.report, chunks: renderReport(report) });
  if (files.json) pending.push({ file: files.json, chunks: reportJson(report) });
  if (pending.length) writeAllAtomic(pending);
}

/**
 * The studio's worker: everything that takes time (decoding the model, calibrating, exporting,
 * validating, the analysis) runs here, so that the page stays responsive. One message, one job, its
 * replies marked with its id; the page offers the files only once a job has sent them all. The worker
 * lives across jobs, so onnxruntime-web's WebAssembly is compiled once.
 */
import {
  analyzeModels,
  calibrationCacheFor,
  encodeModel,
  inspectModel,
  loadModel,
  modelInputs,
  OnnxqError,
  openCalibrationFiles,
  quantize,
  quantizeOffline,
  renderReport,
  useWebRuntime,
  type CalibrationSource,
} from '../src/web/index.js';
import { rangeMethodOf, type MethodName } from '../src/refine/methods.js';
import type { DistributiveOmit, FromWorker, OutputFile, StudioSettings, ToWorker } from './messages.js';
import { offlineOptions, staticOptions } from './settings.js';

const reply = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const job = e.data;
  const post = (m: DistributiveOmit<FromWorker, 'id'>, transfer: Transferable[] = []) => reply({ ...m, id: job.id } as FromWorker, transfer);
  try {
    if (job.type === 'inspect') {
      const model = await loadModel(job.model, job.data);
      post({ type: 'inspected', report: inspectModel(model), inputs: modelInputs(model) });
    } else {
      const onProgress = (phase: string, done: number, total: number) => post({ type: 'progress', phase, done, total });
      const { files, summary, reportHtml } = await run(job.model, job.data, job.calib, job.settings, onProgress);
      post({ type: 'done', files, summary, ...(reportHtml ? { reportHtml } : {}) }, files.map((f) => f.bytes.buffer as ArrayBuffer));
    }
  } catch (err) {
    // An OnnxqError's message says what to do; anything else is a bug of onnxq's, or the browser's limits (out of memory).
    if (err instanceof OnnxqError) post({ type: 'error', message: err.message, code: err.code });
    else post({ type: 'error', message: `unexpected error: ${(err as Error)?.message ?? String(err)}. If the model is large, the browser may have run out of memory: try the command line (npx onnxq quantize).` });
  }
};

type Progress = (phase: string, done: number, total: number) => void;

async function run(modelFile: File, dataFiles: File[], calibFiles: File[], s: StudioSettings, onProgress: Progress) {
  const start = performance.now();
  useWebRuntime({ backend: s.backend });
  const stem = modelFile.name.replace(/\.onnx$/i, '');
  const inputBytes = modelFile.size + dataFiles.reduce((n, f) => n + f.size, 0);
  const model = await loadModel(modelFile, dataFiles);
  const inputs = modelInputs(model);
  const source: CalibrationSource | undefined = calibFiles.length ? await openCalibrationFiles(calibFiles, inputs, s.image) : undefined;
  const files: OutputFile[] = [];
  const notes = [...(source?.notes ?? [])];

  if (s.mode !== 'static') {
    const r = await quantizeOffline(model, { ...offlineOptions(s), onProgress }, source);
    const bytes = encodeModel(r.model).model;
    files.push({ name: `${stem}.${s.mode === 'fp16' ? 'fp16' : s.mode === 'dynamic' ? 'q8' : `q${s.bits ?? 4}`}.onnx`, label: 'Download', type: 'application/octet-stream', bytes });
    const summary = { mode: s.mode, bytes: { input: inputBytes, output: bytes.length }, validatedOn: r.validatedOn, validation: r.validation, float: r.report.float, warnings: r.warnings, notes, ms: performance.now() - start };
    return { files, summary };
  }

  if (!source) throw new OnnxqError('BAD_CALIBRATION', 'static quantization needs calibration data: pick a folder of images, an .npy or an .npz under "Calibration data". Without data, choose the mode dynamic, weight-only or fp16.');
  const r = await quantize(model, source, { ...staticOptions(s), onProgress });
  const bytes = encodeModel(r.model).model;
  files.push({ name: `${stem}.int8.onnx`, label: 'Download', type: 'application/octet-stream', bytes });
  const text = (t: string) => new TextEncoder().encode(t);
  if (s.savePlan) files.push({ name: `${stem}.plan.json`, label: 'Download plan (JSON)', type: 'application/json', bytes: text(JSON.stringify(r.plan, null, 2) + '\n') });
  if (s.saveRanges) files.push({ name: `${stem}.ranges.json`, label: 'Download ranges (JSON)', type: 'application/json', bytes: text(JSON.stringify(r.ranges, null, 2) + '\n') });
  if (s.calibCache && r.tensorrtAmax) {
    const cache = calibrationCacheFor(r.tensorrtAmax, rangeMethodOf(s.method as MethodName));
    if (cache.note) notes.push(cache.note);
    files.push({ name: `${stem}.calib`, label: 'Download TensorRT calibration cache', type: 'text/plain', bytes: text(cache.text) });
  }
  let reportHtml: string | undefined;
  if (s.report) {
    // The float model again, as the file holds it: quantize() prepared the one given in place.
    try {
      const analysis = await analyzeModels(await loadModel(modelFile, dataFiles), r.model, source, { seed: s.seed, labels: { float: modelFile.name, quantized: files[0]!.name }, onProgress });
      if (r.methods) analysis.methods = r.methods;
      reportHtml = renderReport(analysis);
      files.push({ name: `${stem}.report.html`, label: 'Download analysis (HTML)', type: 'text/html', bytes: text(reportHtml) });
    } catch (err) {
      if (!(err instanceof OnnxqError)) throw err;
      r.warnings.push(`the analysis was not made: ${err.message}`);
    }
  }
  const summary = {
    mode: s.mode,
    bytes: { input: inputBytes, output: bytes.length },
    samples: { calibration: r.samples.calibration, heldOut: r.samples.heldOut },
    validation: r.validation,
    float: r.plan.float,
    warnings: r.warnings,
    notes,
    ms: performance.now() - start,
  };
  return { files, summary, reportHtml };
}

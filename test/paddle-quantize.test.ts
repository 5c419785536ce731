/**
 * PaddleOCR's three models from npm, quantized with every range method for both targets from one
 * calibration each (16 rendered samples), run in onnxruntime-node and judged by the task they do:
 * lines read (rec), text direction (cls), text probability inside vs outside the true boxes (det).
 * Thresholds sit below what was measured here (in the comments), with a margin for other CPUs.
 *
 * Output SQNR is a poor yardstick for det and rec: both amplify small perturbations (white noise
 * 60 dB under the input costs det's probability map 30 dB), so the tests judge the task instead.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RANGE_METHOD_NAMES, type RangeMethodName } from '../src/calibrate/observer.js';
import { openCalibration } from '../src/data/open.js';
import { loadModelFile } from '../src/node/files.js';
import type { TargetName } from '../src/plan/plan.js';
import { calibrate, quantizeCalibrated, type Calibration } from '../src/quantize.js';
import { modelInputs } from '../src/data/inputs.js';
import { PADDLE_MODELS, bytes, calibrationFile, findText, mapSqnr, readLines, tellDirections, type PaddleTask } from './helpers/paddle.js';

const SEED = 99; // test lines and pages, never the calibration ones (seed 7)

const TARGETS: TargetName[] = ['ort-qdq', 'tensorrt'];
const cases = TARGETS.flatMap((target) => RANGE_METHOD_NAMES.map((method) => ({ target, method })));

async function calibrated(task: PaddleTask): Promise<Calibration> {
  const { model } = loadModelFile(PADDLE_MODELS[task]);
  const source = await openCalibration(calibrationFile(task, 18), modelInputs(model));
  return calibrate(model, source, { methods: [...RANGE_METHOD_NAMES], planOptions: TARGETS.map((target) => ({ target })), calibSamples: 16 });
}

async function quantized(cal: Calibration, target: TargetName, method: RangeMethodName) {
  const r = await quantizeCalibrated(cal, { target, method });
  expect(r.validation!.outputs).toHaveLength(1);
  expect(r.model.graph!.node.some((n) => n.opType === 'QuantizeLinear')).toBe(true);
  return r;
}

describe('PaddleOCR recognition (rec, opset 9, SVTR blocks)', () => {
  let cal: Calibration;
  let float: Awaited<ReturnType<typeof readLines>>;
  beforeAll(async () => {
    cal = await calibrated('rec');
    float = await readLines(PADDLE_MODELS.rec, 40, SEED); // measured: 85 % exact, 98.3 % characters
  });

  it.each(cases)('$target / $method reads rendered lines like the float model', async ({ target, method }) => {
    const r = await quantized(cal, target, method);
    const q = await readLines(bytes(r.model), 40, SEED);
    const agree = q.texts.filter((t, i) => t === float.texts[i]).length / 40;
    // measured (12 method × target pairs): characters 95.7–98.7 %, lines read as the float model reads
    // them 67.5–92.5 %; 40 lines is a small set, so the margin is a line or two.
    expect(q.chars).toBeGreaterThan(0.94);
    expect(agree).toBeGreaterThan(0.55);
  });
});

describe('PaddleOCR direction classifier (cls, opset 9, BatchNormalization)', () => {
  let cal: Calibration;
  beforeAll(async () => {
    cal = await calibrated('cls');
    expect(await tellDirections(PADDLE_MODELS.cls, 40, SEED)).toBe(1); // measured: 100 %
  });

  it.each(cases)('$target / $method tells upside-down lines', async ({ target, method }) => {
    const r = await quantized(cal, target, method);
    expect(await tellDirections(bytes(r.model), 40, SEED)).toBeGreaterThanOrEqual(0.95); // measured: 100 % for all
  });
});

describe('PaddleOCR detection (det, opset 11, 320×320)', () => {
  let cal: Calibration;
  let float: Awaited<ReturnType<typeof findText>>;
  beforeAll(async () => {
    cal = await calibrated('det');
    float = await findText(PADDLE_MODELS.det, 4, SEED); // measured: inside 0.462, outside 6e-5
  });

  it.each(cases)('$target / $method finds the text', async ({ target, method }) => {
    const r = await quantized(cal, target, method);
    const q = await findText(bytes(r.model), 4, SEED);
    // measured: inside 0.462–0.489, outside below 2e-9, map SQNR vs float 8.1–9.7 dB.
    expect(q.inside).toBeGreaterThan(0.4);
    expect(q.outside).toBeLessThan(1e-3);
    expect(mapSqnr(float.maps, q.maps)).toBeGreaterThan(6);
  });
});

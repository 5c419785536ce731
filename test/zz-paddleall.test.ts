import { it } from 'vitest';
import { loadModelFile } from '../src/node/files.js';
import { openCalibration } from '../src/data/open.js';
import { calibrate, modelInputs, quantizeCalibrated } from '../src/quantize.js';
import { RANGE_METHOD_NAMES } from '../src/calibrate/observer.js';
import { PADDLE_MODELS, calibrationFile, clsAccuracy, detMaps, mapSqnr, recScore } from './helpers/paddle.js';
it('all', async () => {
  const task = process.env.TASK as 'det'|'rec'|'cls';
  const { model } = loadModelFile(PADDLE_MODELS[task]);
  const file = calibrationFile(task, 18);
  const source = await openCalibration(file, modelInputs(model));
  let t = performance.now();
  const cal = await calibrate(model, source, { methods: [...RANGE_METHOD_NAMES], planOptions: [{ target: 'ort-qdq' }, { target: 'tensorrt' }], calibSamples: 16 });
  console.log(task, 'calibrate ms', (performance.now()-t).toFixed(0));
  const ref = task === 'rec' ? (await recScore(PADDLE_MODELS.rec, 40)) : task === 'cls' ? await clsAccuracy(PADDLE_MODELS.cls, 40) : await detMaps(PADDLE_MODELS.det, 4);
  console.log(task, 'float', JSON.stringify(task==='det' ? {inside: (ref as any).inside, outside: (ref as any).outside} : task==='rec' ? (ref as any).score : ref));
  for (const target of ['ort-qdq', 'tensorrt'] as const) for (const method of RANGE_METHOD_NAMES) {
    t = performance.now();
    const r = await quantizeCalibrated(cal, { method, target });
    const qms = performance.now()-t;
    let m: any;
    if (task === 'rec') { const q = await recScore(r.model, 40); const fr = (ref as any).texts; m = { ...q.score, agree: q.texts.filter((x, i) => x === fr[i]).length / 40 }; }
    else if (task === 'cls') m = { acc: await clsAccuracy(r.model, 40) };
    else { const q = await detMaps(r.model, 4); m = { inside: q.inside.toFixed(3), outside: q.outside.toExponential(1), sqnr: mapSqnr((ref as any).maps, q.maps).toFixed(1) }; }
    console.log(task, target.padEnd(8), method.padEnd(15), 'sqnr', r.validation!.outputs[0]!.sqnr.toFixed(1), JSON.stringify(m), 'ms', qms.toFixed(0));
  }
}, 600000);

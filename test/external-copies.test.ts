/**
 * A model whose weights stay in their external data file until read: every stage that works on a
 * copy of it (the analysis's prepared float model, each quantization from one calibration — as
 * --method all and mixed precision make them —, the training graphs of qat) must still read those weights. A plain protobuf clone loses where they are and reads them empty;
 * these runs failed so before onnx/external.ts cloneModel.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFiles, calibrate, loadModelFile, modelInputs, openCalibration, qatFile, quantizeCalibrated, quantizeFile, saveModelFile } from '../src/index.js';
import { calibrationFile, PADDLE_MODELS } from './helpers/paddle.js';
import { tempDir } from './helpers/temp.js';

describe('a float model with external data, copied by later stages', () => {
  it('is analysed, compared across methods and trained', async () => {
    const dir = tempDir('onnxq-external-');
    const float = path.join(dir, 'cls.onnx');
    expect(saveModelFile(loadModelFile(PADDLE_MODELS.cls).model, float, { externalData: true }).data).toBe(`${float}.data`);
    const calib = calibrationFile('cls', 12);
    const loaded = loadModelFile(float).model;
    const cal = await calibrate(loaded, await openCalibration(calib, modelInputs(loaded)), { methods: ['minmax', 'percentile'], calibSamples: 10 });
    for (const method of ['minmax', 'percentile'] as const) expect((await quantizeCalibrated(cal, { method })).validation!.outputs[0]!.cosine).toBeGreaterThan(0.9);
    const quantized = path.join(dir, 'cls.int8.onnx');
    await quantizeFile(float, quantized, { calib, calibSamples: 10 });
    const report = await analyzeFiles(float, quantized, { calib, samples: 4, layerSamples: 2, histograms: false });
    expect(report.layers.length).toBeGreaterThan(10);
    const trained = await qatFile(float, path.join(dir, 'cls.qat.onnx'), { data: calib, batchSize: 4, calibSamples: 8 });
    expect(trained.training.trained.weights).toBeGreaterThan(40);
    expect(trained.validation!.outputs[0]!.cosine).toBeGreaterThan(0.9);
  });
});

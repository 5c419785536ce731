/**
 * `onnxq analyze` as a user runs it, on PaddleOCR rec (from the pinned npm package) quantized by
 * `onnxq quantize`: the terminal table, the JSON and the HTML report, which opens in Chromium offline
 * and draws one bar per quantized tensor; and the bad cases: a report folder that does not exist,
 * models that do not correspond.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, hasChromium, keepScreenshot, openOffline } from '../helpers/browser.js';
import { expectCleanFailure, onnxq } from '../helpers/cli.js';
import { PADDLE_MODELS, calibrationFile } from '../helpers/paddle.js';
import { tempDir } from '../helpers/temp.js';

let dir: string;
let calib: string;
let quantized: string;

beforeAll(() => {
  dir = tempDir('onnxq-analyze-');
  calib = calibrationFile('rec', 12);
  quantized = path.join(dir, 'rec.int8.onnx');
  const r = onnxq(['quantize', PADDLE_MODELS.rec, '-o', quantized, '--calib', calib, '--calib-samples', '8', '--no-validate']);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

describe('onnxq analyze on PaddleOCR rec', () => {
  it('prints the worst tensors and the most sensitive ones, and writes the JSON and the report', async () => {
    const json = path.join(dir, 'rec.analysis.json');
    const html = path.join(dir, 'rec.analysis.html');
    const r = onnxq(['analyze', PADDLE_MODELS.rec, quantized, '--calib', calib, '--samples', '3', '--layer-samples', '1', '--json', json, '--report', html, '--threads', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/worst quantized tensors \(graph-wise/);
    expect(r.stdout).toMatch(/most sensitive tensors \(layer-wise/);
    expect(r.stdout).toMatch(/softmax_11\.tmp_0: SQNR \d+\.\d dB/);
    const report = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect(report.format).toBe('onnxq-analysis/1');
    expect(report.unmatched).toEqual([]);
    expect(report.tensors.length).toBeGreaterThan(100);
    expect(report.layers.length).toBeGreaterThan(150);
    expect(report.weights.length).toBeGreaterThan(50);
    expect(report.histograms.length).toBe(report.tensors.length);
    if (!hasChromium) return;
    const { requests, errors } = await openOffline(html, async (page) => {
      expect(await page.locator('#graph-chart rect.bar').count()).toBe(report.tensors.length);
      expect(await page.locator('svg.hist').count()).toBe(report.histograms.length);
      await keepScreenshot(page, 'rec-analysis.png');
    });
    fs.copyFileSync(html, path.join(ARTIFACTS, 'rec-analysis.html'));
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
  }, 180_000);

  it('refuses a report path in a folder that does not exist, before any work', () => {
    const r = onnxq(['analyze', PADDLE_MODELS.rec, quantized, '--calib', calib, '--report', path.join(dir, 'missing', 'r.html')]);
    expectCleanFailure(r, /cannot write .*r\.html: the folder .*missing does not exist/);
  });

  it('refuses models that do not correspond', () => {
    const r = onnxq(['analyze', PADDLE_MODELS.cls, quantized, '--calib', calib]);
    expectCleanFailure(r, /do not correspond|not two versions of one network|not an output of/);
  });
});

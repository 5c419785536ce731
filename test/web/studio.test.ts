/**
 * The studio end to end in Debian's Chromium: `onnxq studio`'s server started in-process on 127.0.0.1,
 * files set on the page's labelled inputs, Quantize pressed, the download saved and compared with what
 * the command line writes for the same model, data and options. Then the bad inputs: a file that is not
 * ONNX, data that does not fit the input, a model whose external data file was not given, a reload
 * mid-run. The page may load nothing from elsewhere and log no console error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, StringStringEntryProtoSchema } from 'onnx-buf';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStudio, type Studio } from '../../src/node/studio.js';
import { decodeModel } from '../../src/onnx/codec.js';
import { readFloat32 } from '../../src/onnx/tensor.js';
import { writeNpy, readNpy } from '../../src/data/npy-file.js';
import { hasChromium, keepScreenshot, openOffline } from '../helpers/browser.js';
import { buildModel, runModel } from '../helpers/build.js';
import { onnxq } from '../helpers/cli.js';
import { calibrationFile, PADDLE_MODELS } from '../helpers/paddle.js';
import { tempDir } from '../helpers/temp.js';
import { writeImage } from '../data/fixtures.js';
import { floatTensor } from '../../src/onnx/tensor.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUN_TIMEOUT = 240_000;

/** Sets the model (and its data files), waits for the page to show what the model holds. */
async function pickModel(page: Page, files: string | string[]): Promise<void> {
  await page.getByLabel('Model', { exact: true }).setInputFiles(files);
}

/** Presses Quantize and waits for the run to end: the Download link, or an error. */
async function quantizeOnPage(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Quantize' }).click();
  await page.locator('#results:not([hidden]), #error:not([hidden])').first().waitFor({ timeout: RUN_TIMEOUT });
}

async function download(page: Page, to: string, link = 'Download'): Promise<Buffer> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: link, exact: true }).click()]);
  await d.saveAs(to);
  return fs.readFileSync(to);
}

/**
 * A Conv → Relu → Conv model with small integer weights, fed small integers: every sum onnxruntime forms
 * is an integer below 2^24, exact in float32 in any order, so calibration sees the same ranges on
 * WebAssembly as on onnxruntime-node's AVX2 kernels, and the two quantized models must be the same bytes.
 */
function exactModel(dir: string): { model: string; calib: string } {
  const ints = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7 + seed * 13) % 5) - 2);
  const model = buildModel({
    inputs: [{ name: 'x', dims: [1, 2, 8, 8] }],
    outputs: [{ name: 'y', dims: [1, 4, 8, 8] }],
    nodes: [
      { opType: 'Conv', name: 'c1', inputs: ['x', 'w1', 'b1'], outputs: ['h'], attrs: { pads: [1, 1, 1, 1] } },
      { opType: 'Relu', name: 'r1', inputs: ['h'], outputs: ['hr'] },
      { opType: 'Conv', name: 'c2', inputs: ['hr', 'w2', 'b2'], outputs: ['y'] },
    ],
    initializers: [floatTensor('w1', [4, 2, 3, 3], ints(72, 1)), floatTensor('b1', [4], ints(4, 2)), floatTensor('w2', [4, 4, 1, 1], ints(16, 3)), floatTensor('b2', [4], ints(4, 4))],
  });
  const files = { model: path.join(dir, 'exact.onnx'), calib: path.join(dir, 'exact.npy') };
  fs.writeFileSync(files.model, toBinary(ModelProtoSchema, model));
  const n = 20 * 2 * 8 * 8;
  writeNpy(files.calib, { dtype: 'float32', dims: [20, 2, 8, 8], data: Float32Array.from({ length: n }, (_, i) => (i * 2654435761) % 8) });
  return files;
}

// Minutes, not the suite's two: whole quantizations in a browser, beside the suite's other workers.
describe.skipIf(!hasChromium)('the studio in Chromium', { timeout: 600_000 }, () => {
  let studio: Studio;
  beforeAll(async () => {
    // The bundle `npm run build` made (npm test builds first).
    studio = await serveStudio(0, path.join(ROOT, 'dist', 'browser'));
  });
  afterAll(() => studio?.close());

  it('quantizes PaddleOCR cls and a model with exact arithmetic as the command line does', async () => {
    const dir = tempDir('onnxq-studio-');
    const cls = { model: PADDLE_MODELS.cls, calib: calibrationFile('cls', 16) };
    const exact = exactModel(dir);
    const cliTimes: Record<string, number> = {};
    const cli = (name: string, args: string[]) => {
      const out = path.join(dir, `cli-${name}.onnx`);
      const start = performance.now();
      const r = onnxq(['quantize', ...args, '-o', out]);
      cliTimes[name] = performance.now() - start;
      expect(r.code, r.stderr).toBe(0);
      return fs.readFileSync(out);
    };
    const expected = {
      clsStatic: cli('clsStatic', [cls.model, '--calib', cls.calib]),
      clsStaticWasm: cli('clsStaticWasm', [cls.model, '--calib', cls.calib, '--runtime', 'wasm']),
      clsDynamic: cli('clsDynamic', [cls.model, '--mode', 'dynamic']),
      clsWeightOnly: cli('clsWeightOnly', [cls.model, '--mode', 'weight-only', '--bits', '8', '--block-size', '16']),
      clsFp16: cli('clsFp16', [cls.model, '--mode', 'fp16']),
      exact: cli('exact', [exact.model, '--calib', exact.calib, ...['plan', 'ranges', 'cache'].flatMap((k) => [k === 'cache' ? '--calib-cache' : `--save-${k}`, path.join(dir, `cli-exact.${k}`)])]),
    };
    const got: Record<string, Buffer> = {};
    const times: Record<string, number> = {};
    let latency = '';
    const timed = async (name: string, file: string, page: Page) => {
      const start = performance.now();
      await quantizeOnPage(page);
      times[name] = performance.now() - start;
      got[name] = await download(page, path.join(dir, file));
    };

    const { requests, errors } = await openOffline(studio.url, async (page) => {
      // Static int8 with the CLI's defaults, from a .npy.
      await pickModel(page, exact.model);
      await page.getByText('Ops: Conv 2, Relu 1.').waitFor();
      await page.getByLabel('Calibration data', { exact: true }).setInputFiles(exact.calib);
      await page.getByLabel('Per-layer analysis').uncheck();
      for (const side of ['Plan (JSON)', 'Ranges (JSON)', 'TensorRT calibration cache']) await page.getByLabel(side).check();
      await quantizeOnPage(page);
      got.exact = await download(page, path.join(dir, 'page-exact.onnx'));
      got['exact.plan'] = await download(page, path.join(dir, 'page-exact.plan'), 'Download plan (JSON)');
      got['exact.ranges'] = await download(page, path.join(dir, 'page-exact.ranges'), 'Download ranges (JSON)');
      got['exact.cache'] = await download(page, path.join(dir, 'page-exact.cache'), 'Download TensorRT calibration cache');
      for (const side of ['Plan (JSON)', 'Ranges (JSON)', 'TensorRT calibration cache']) await page.getByLabel(side).uncheck();

      await pickModel(page, cls.model);
      await page.locator('#inspect').getByText('softmax_0.tmp_0').waitFor();
      await page.getByLabel('Calibration data', { exact: true }).setInputFiles(cls.calib);
      await timed('clsStatic', 'page-cls-static.onnx', page);
      latency = await page.locator('#summary tr', { hasText: 'latency in this browser' }).innerText();
      // Again with the per-layer analysis: the same model, and the charts.
      await page.getByLabel('Per-layer analysis').check();
      await timed('clsAnalysis', 'page-cls-analysis.onnx', page);
      expect(got.clsAnalysis!.equals(got.clsStatic!)).toBe(true);
      // The validation table, what stayed float and why, and the per-layer charts.
      await page.locator('#summary').getByRole('cell', { name: 'softmax_0.tmp_0' }).waitFor();
      await page.getByText('latency in this browser, per sample').waitFor();
      await page.getByText(/Left in float \(\d+ nodes\)/).waitFor();
      await page.frameLocator('iframe[title="Per-layer analysis"]').locator('svg').first().waitFor();
      // Chromium paints the report's frame (a process of its own, sandboxed) only once it has been in view.
      await page.locator('iframe[title="Per-layer analysis"]').scrollIntoViewIfNeeded();
      await keepScreenshot(page, 'studio-cls-static.png');

      // Dynamic needs no data.
      await page.getByRole('button', { name: 'Use no data' }).click();
      await page.getByLabel('Mode', { exact: true }).selectOption('dynamic');
      await timed('clsDynamic', 'page-cls-dynamic.onnx', page);
      await page.getByLabel('Mode', { exact: true }).selectOption('weight-only');
      await page.getByLabel('Bits', { exact: true }).selectOption('8');
      await page.getByLabel('Block size', { exact: true }).selectOption('16');
      await timed('clsWeightOnly', 'page-cls-q8.onnx', page);
      await page.getByLabel('Mode', { exact: true }).selectOption('fp16');
      await timed('clsFp16', 'page-cls-fp16.onnx', page);
    });
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);

    // Where onnxruntime's arithmetic is exact, or plays no part (dynamic), the bytes are the CLI's.
    expect(got.exact!.equals(expected.exact)).toBe(true);
    for (const side of ['plan', 'ranges', 'cache']) expect(got[`exact.${side}`]!.equals(fs.readFileSync(path.join(dir, `cli-exact.${side}`))), side).toBe(true);
    for (const mode of ['clsDynamic', 'clsWeightOnly', 'clsFp16'] as const) expect(got[mode]!.equals(expected[mode]), mode).toBe(true);

    // PaddleOCR cls static: calibrated on the same WebAssembly kernels (--runtime wasm), the CLI writes the studio's bytes.
    expect(got.clsStatic!.equals(expected.clsStaticWasm), 'static, the CLI with --runtime wasm').toBe(true);
    // On onnxruntime-node, its AVX2 kernels round differently from WebAssembly's in the last bits, so
    // activation ranges (and only they) may differ by a few ulps. Same graph, same weights and biases,
    // scales within 1e-5, and the two models answer alike in onnxruntime-node.
    const page = decodeModel(got.clsStatic!, 'page'), cliModel = decodeModel(expected.clsStatic, 'cli');
    expect(page.graph!.node.map((n) => `${n.opType}:${n.name}`)).toEqual(cliModel.graph!.node.map((n) => `${n.opType}:${n.name}`));
    expect(page.metadataProps).toEqual(cliModel.metadataProps);
    const theirs = new Map(cliModel.graph!.initializer.map((t) => [t.name, t]));
    let scales = 0;
    for (const t of page.graph!.initializer) {
      const c = theirs.get(t.name)!;
      expect(t.dataType, t.name).toBe(c.dataType);
      if (t.name.endsWith('_scale')) {
        scales++;
        const [a, b] = [readFloat32(t), readFloat32(c)];
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!) / Math.abs(b[i]!), t.name).toBeLessThan(1e-5);
      } else if (!t.name.endsWith('_zero_point') && !/_quantized$|bias/.test(t.name)) {
        expect(Buffer.from(t.rawData).equals(Buffer.from(c.rawData)), t.name).toBe(true);
      }
    }
    expect(scales).toBeGreaterThan(10);
    const samples = readNpy(cls.calib);
    const per = samples.data.length / samples.dims[0]!;
    for (let i = 0; i < 4; i++) {
      const feeds = { x: { dtype: 'float32', dims: [1, ...samples.dims.slice(1)], data: (samples.data as Float32Array).slice(i * per, (i + 1) * per) } };
      const [a, b] = [await runModel(got.clsStatic!, feeds), await runModel(expected.clsStatic, feeds)];
      const [pa, pb] = [Object.values(a)[0]!, Object.values(b)[0]!];
      for (let k = 0; k < pa.length; k++) expect(Math.abs(pa[k]! - pb[k]!)).toBeLessThan(0.02);
    }
    // The README's times: each run in the page (from Quantize to the download offered) and the CLI's (the whole process).
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `PaddleOCR cls (16 samples), Chromium vs CLI: static ${s(times.clsStatic!)} vs ${s(cliTimes.clsStatic!)} (--runtime wasm ${s(cliTimes.clsStaticWasm!)}); with the analysis ${s(times.clsAnalysis!)}; ` +
        `dynamic ${s(times.clsDynamic!)} vs ${s(cliTimes.clsDynamic!)}; weight-only ${s(times.clsWeightOnly!)} vs ${s(cliTimes.clsWeightOnly!)}; fp16 ${s(times.clsFp16!)} vs ${s(cliTimes.clsFp16!)}; static int8 ${latency.replace(/\s+/g, ' ')}`,
    );
  });

  it('calibrates on a folder of images decoded by the browser, with the image options the CLI records', async () => {
    const dir = tempDir('onnxq-studio-images-');
    const photos = path.join(dir, 'photos');
    // Text-line-like images of several sizes: dark strokes on light paper.
    for (let k = 0; k < 8; k++) {
      const [w, h] = [60 + 23 * k, 20 + 3 * (k % 4)];
      const px = new Uint8Array(w * h * 3).map((_, i) => (Math.floor(i / 3) % w) % (5 + k) < 2 ? 30 + k : 230 - (i % 3) * 10);
      await writeImage(path.join(photos, `line-${k}.png`), w, h, px);
    }
    fs.writeFileSync(path.join(photos, 'README.txt'), 'where these came from');
    const flags = ['--channels', 'bgr', '--resize', 'fit-pad', '--size', '48x192', '--mean', '0.5', '--std', '0.5'];
    const out = path.join(dir, 'cli.onnx');
    expect(onnxq(['quantize', PADDLE_MODELS.cls, '-o', out, '--calib', photos, ...flags]).code).toBe(0);
    let pageBytes: Buffer | undefined;
    const { requests, errors } = await openOffline(studio.url, async (page) => {
      await pickModel(page, PADDLE_MODELS.cls);
      await page.locator('#inspect').getByText('softmax_0.tmp_0').waitFor();
      await page.getByLabel('Calibration folder').setInputFiles(photos);
      await page.getByText('9 files').waitFor();
      await page.getByLabel('Size H×W').fill('48x192');
      await page.getByLabel('Resize', { exact: true }).selectOption('fit-pad');
      await page.getByLabel('Channels', { exact: true }).selectOption('bgr');
      await page.getByLabel('Mean', { exact: true }).fill('0.5');
      await page.getByLabel('Std', { exact: true }).fill('0.5');
      await page.getByLabel('Per-layer analysis').uncheck();
      await quantizeOnPage(page);
      await page.getByText('Calibrated on 7 samples; validated on 1 held out.').waitFor();
      await page.getByText(/skipped 1 file that is neither an image nor a \.npy: photos\/README\.txt/).waitFor();
      pageBytes = await download(page, path.join(dir, 'page.onnx'));
    });
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    // The browser resamples as it does (not as sharp), so the ranges differ; the options recorded are the CLI's.
    const meta = (bytes: Buffer) => decodeModel(bytes, 'model').metadataProps.map((p) => [p.key, p.value]);
    expect(meta(pageBytes!)).toEqual(meta(fs.readFileSync(out)));
    expect(JSON.parse(meta(pageBytes!)[1]![1]!)).toMatchObject({ image: { size: [48, 192], resize: 'fit-pad', channels: 'bgr', mean: 0.5, std: 0.5 } });
  });

  it("'onnxq/web' works in a page as the README shows: the library bundle, its WebAssembly found beside it", async () => {
    const dir = tempDir('onnxq-web-lib-');
    const out = path.join(dir, 'cli.onnx');
    expect(onnxq(['quantize', PADDLE_MODELS.cls, '-o', out, '--mode', 'dynamic']).code).toBe(0);
    let made: number[] = [];
    const { requests, errors } = await openOffline(studio.url, async (page) => {
      // As text: vitest would rewrite an import() written in this file.
      const inPage = `async (bytes) => {
        const { loadModel, quantizeOffline, encodeModel } = await import('./onnxq.js');
        const model = await loadModel(new File([new Uint8Array(bytes)], 'cls.onnx'));
        const { model: q } = await quantizeOffline(model, { mode: 'dynamic', target: 'ort-qdq' });
        return Array.from(encodeModel(q).model);
      }`;
      await page.evaluate((bytes) => Object.assign(window, { clsBytes: bytes }), Array.from(fs.readFileSync(PADDLE_MODELS.cls)));
      made = await page.evaluate(`(${inPage})(window.clsBytes)`);
    });
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    expect(Buffer.from(made).equals(fs.readFileSync(out))).toBe(true);
  });

  it('says what is wrong with bad input, and offers nothing after a stop or a reload mid-run', async () => {
    const dir = tempDir('onnxq-studio-bad-');
    const notOnnx = path.join(dir, 'notes.onnx');
    fs.writeFileSync(notOnnx, 'these are my notes, not a model');
    // A .npy of one-channel samples for cls's three-channel input.
    const wrongShape = path.join(dir, 'gray.npy');
    writeNpy(wrongShape, { dtype: 'float32', dims: [4, 1, 48, 192], data: new Float32Array(4 * 48 * 192) });
    // Images for a model whose input is not an image batch.
    const flat = path.join(dir, 'flat.onnx');
    fs.writeFileSync(flat, toBinary(ModelProtoSchema, buildModel({
      inputs: [{ name: 'v', dims: [1, 8] }],
      outputs: [{ name: 'out', dims: [1, 4] }],
      nodes: [{ opType: 'MatMul', name: 'mm', inputs: ['v', 'w'], outputs: ['out'] }],
      initializers: [floatTensor('w', [8, 4], Float32Array.from({ length: 32 }, (_, i) => i / 32))],
    })));
    const images = [await writeImage(path.join(dir, 'photos', 'a.png'), 4, 4, new Uint8Array(48).fill(200)), await writeImage(path.join(dir, 'photos', 'b.png'), 4, 4, new Uint8Array(48).fill(50))];
    // A model whose weights live in a second file.
    const external = path.join(dir, 'big.onnx');
    const copy = decodeModel(fs.readFileSync(flat), 'flat');
    const w = copy.graph!.initializer[0]!;
    fs.writeFileSync(path.join(dir, 'big.onnx.data'), w.rawData);
    Object.assign(w, { rawData: new Uint8Array(0), dataLocation: 1, externalData: [['location', 'big.onnx.data'], ['offset', '0'], ['length', String(32 * 4)]].map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })) });
    fs.writeFileSync(external, toBinary(ModelProtoSchema, copy));

    const { requests, errors } = await openOffline(studio.url, async (page) => {
      const alert = (text: string) => page.getByRole('alert').filter({ hasText: text }).waitFor();
      const offered = () => page.getByRole('link', { name: /Download/ }).count();
      await pickModel(page, notOnnx);
      await alert('notes.onnx is');
      expect(await page.getByRole('alert').textContent()).toMatch(/notes\.onnx is (not an|a truncated or damaged) ONNX file/);
      expect(await page.getByRole('button', { name: 'Quantize' }).isDisabled()).toBe(true);

      // Past the page's limit (a sparse file: no disk used), refused before it is read.
      const huge = path.join(dir, 'huge.onnx');
      fs.writeFileSync(huge, '');
      fs.truncateSync(huge, 1.5 * 2 ** 30);
      await pickModel(page, huge);
      await alert('huge.onnx is 1.50 GiB with its data; the page takes models up to 1.00 GiB');
      await alert('npx onnxq quantize huge.onnx');

      await pickModel(page, external);
      await alert("pick 'big.onnx.data' together with the model");
      await pickModel(page, [external, path.join(dir, 'big.onnx.data')]);
      await page.locator('#inspect').getByText('MatMul 1').waitFor();

      await page.getByLabel('Calibration data', { exact: true }).setInputFiles(images);
      await quantizeOnPage(page);
      await alert("model input 'v' float32 [1, 8] is not an image batch");
      expect(await offered()).toBe(0);

      await pickModel(page, PADDLE_MODELS.cls);
      await page.locator('#inspect').getByText('softmax_0.tmp_0').waitFor();
      await page.getByLabel('Calibration data', { exact: true }).setInputFiles(wrongShape);
      await quantizeOnPage(page);
      await alert('gray.npy');
      expect(await page.getByRole('alert').textContent()).toContain("'x'");
      expect(await offered()).toBe(0);

      // Stopped while it runs: nothing is offered, and the page is ready again.
      await page.getByLabel('Calibration data', { exact: true }).setInputFiles(calibrationFile('cls', 16));
      await page.getByRole('button', { name: 'Quantize' }).click();
      await page.getByText(/calibrating: \d+ of/).waitFor({ timeout: RUN_TIMEOUT });
      await page.getByRole('button', { name: 'Stop' }).click();
      await page.getByText('Stopped: nothing was made.').waitFor();
      expect(await offered()).toBe(0);

      // A reload while the work runs ends it: nothing is offered afterwards.
      await page.getByRole('button', { name: 'Quantize' }).click();
      await page.getByText(/calibrating: \d+ of/).waitFor({ timeout: RUN_TIMEOUT });
      await page.reload();
      await page.getByText('Pick a model first.').waitFor();
      await page.waitForTimeout(1500);
      expect(await offered()).toBe(0);
    });
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
  });
});

/**
 * The studio against the command line: PaddleOCR's models quantized to int8 with the command line's
 * defaults (minmax, ort-qdq) from the same .npy, once through the studio page in Debian's Chromium (the
 * work in its Web Worker, on onnxruntime-web's WebAssembly) and once with `onnxq quantize` (onnxruntime-node),
 * and once with `onnxq quantize --runtime wasm` (onnxruntime-web's WebAssembly in Node), each timed whole,
 * with the validation latency each reports for the float and the int8 model; the page's model is
 * downloaded and compared byte for byte with the --runtime wasm one.
 *
 *   npm run build && node dist/bench/studio.js [--samples 32] [--models cls,rec,det]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { PADDLE_MODELS, writeCalibrationSet } from '../demo/paddle-ocr.js';
import { serveStudio } from '../src/node/studio.js';

type Kind = 'cls' | 'rec' | 'det';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const arg = (name: string) => process.argv[process.argv.indexOf(name) + 1];
const samples = process.argv.includes('--samples') ? Number(arg('--samples')) : 32;
const kinds = (process.argv.includes('--models') ? arg('--models')!.split(',') : ['cls', 'rec', 'det']) as Kind[];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-bench-studio-'));
const studio = await serveStudio(0, path.join(ROOT, 'dist', 'browser'));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const rows: string[] = [];
try {
  const page = await browser.newPage();
  await page.goto(studio.url);
  const run = async (model: string, calib: string | undefined, mode: string) => {
    await page.getByLabel('Model', { exact: true }).setInputFiles(model);
    await page.locator('#inspect:not([hidden])').waitFor();
    if (calib) await page.getByLabel('Calibration data', { exact: true }).setInputFiles(calib);
    else await page.getByRole('button', { name: 'Use no data' }).click();
    await page.getByLabel('Mode', { exact: true }).selectOption(mode);
    if (mode === 'static') await page.getByLabel('Per-layer analysis').uncheck();
    const start = performance.now();
    await page.getByRole('button', { name: 'Quantize' }).click();
    await page.locator('#results:not([hidden]), #error:not([hidden])').first().waitFor({ timeout: 30 * 60_000 });
    const ms = performance.now() - start;
    if (await page.locator('#error').isVisible()) throw new Error(`the page failed: ${await page.locator('#error').textContent()}`);
    const latency = (await page.locator('#summary tr', { hasText: 'latency in this browser' }).innerText().catch(() => '')).split('\t').slice(1, 3).join(' → ');
    return { ms, latency };
  };
  // The first run of a page compiles onnxruntime-web's WebAssembly: timed on its own.
  const warm = await run(PADDLE_MODELS.cls, undefined, 'fp16');
  rows.push(`first run in the page (fp16 cls, WebAssembly compiled): ${(warm.ms / 1000).toFixed(1)} s`);
  for (const kind of kinds) {
    const calib = writeCalibrationSet(kind, dir, samples, 1).file;
    const cli = (runtime: 'node' | 'wasm') => {
      const out = path.join(dir, `${kind}.${runtime}.onnx`);
      const start = performance.now();
      const r = spawnSync(process.execPath, [CLI, 'quantize', PADDLE_MODELS[kind], '-o', out, '--calib', calib, '--runtime', runtime, '--json'], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
      const ms = performance.now() - start;
      if (r.status !== 0) throw new Error(`onnxq quantize ${kind} --runtime ${runtime} failed: ${r.stderr}`);
      const v = JSON.parse(r.stdout).validation as { floatMs: number; quantizedMs: number };
      return { ms, out, text: `${(ms / 1000).toFixed(1)} s, latency ${v.floatMs.toFixed(1)} ms → ${v.quantizedMs.toFixed(1)} ms` };
    };
    const native = cli('node');
    const wasm = cli('wasm');
    const inPage = await run(PADDLE_MODELS[kind], calib, 'static');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download', exact: true }).click()]);
    const pageFile = path.join(dir, `${kind}.page.onnx`);
    await download.saveAs(pageFile);
    const same = fs.readFileSync(pageFile).equals(fs.readFileSync(wasm.out));
    rows.push(
      `${kind} (${(fs.statSync(PADDLE_MODELS[kind]).size / 2 ** 20).toFixed(1)} MiB, ${samples} samples): Chromium ${(inPage.ms / 1000).toFixed(1)} s, latency ${inPage.latency}; ` +
        `CLI ${native.text}; CLI --runtime wasm ${wasm.text}, ${same ? 'the same bytes as' : 'NOT the same bytes as'} the studio's`,
    );
    console.log(rows.at(-1));
  }
} finally {
  await browser.close();
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(['', 'studio (Chromium, onnxruntime-web WebAssembly) against onnxq quantize (onnxruntime-node, and --runtime wasm), int8 minmax:', ...rows.map((r) => `  ${r}`)].join('\n'));

/**
 * `npm run build`'s browser step (after tsc): bundles onnxq/web (src/web/index.ts) and the studio's
 * page and worker with esbuild into dist/browser/, as ES modules that share their chunks, and copies
 * beside them the page's HTML and CSS and onnxruntime-web's WebAssembly files, which it loads at run
 * time from the bundle's folder. dist/browser/ is a static site: `onnxq studio` serves it, and any
 * static host can.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = path.join(ROOT, 'dist', 'browser');
/** onnxruntime-web's build with WebGPU and the WebAssembly CPU kernels (its default entry's). */
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

fs.rmSync(OUT, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: { onnxq: 'src/web/index.ts', page: 'web/page.ts', worker: 'web/worker.ts' },
  outdir: OUT,
  // Chunks beside the entries: the runtime finds the .wasm files next to its own module (import.meta.url).
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  // onnxruntime-web's entry that loads its WebAssembly loader (.mjs) from wasmPaths rather than inlining it.
  conditions: ['onnxruntime-web-use-extern-wasm'],
  metafile: true,
  logLevel: 'warning',
});
const ortDist = path.join(path.dirname(fileURLToPath(import.meta.resolve('onnxruntime-web'))));
for (const f of ORT_FILES) fs.copyFileSync(path.join(ortDist, f), path.join(OUT, f));
for (const f of ['index.html', 'studio.css']) fs.copyFileSync(path.join(ROOT, 'web', f), path.join(OUT, f));

const size = (f: string) => fs.statSync(path.join(OUT, f)).size;
const js = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).reduce((n, f) => n + size(path.relative(OUT, path.join(ROOT, f))), 0);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
console.log(`dist/browser: JavaScript ${mib(js)}, onnxruntime-web WebAssembly ${mib(size(ORT_FILES[1]!))}`);

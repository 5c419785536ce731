/**
 * `onnxq studio`'s server: it prints its address, serves the built page, its scripts and onnxruntime-web's
 * WebAssembly with their types and the cross-origin isolation headers (for WebAssembly threads), and
 * nothing outside its folder.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BIN } from '../helpers/cli.js';

describe('onnxq studio', () => {
  let child: ReturnType<typeof spawn> | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('serves the page on 127.0.0.1 and only its own files', async () => {
    child = spawn(process.execPath, [CLI_BIN, 'studio', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d;
        const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.once('exit', (code) => reject(new Error(`onnxq studio exited with ${code}: ${out}`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    const html = await page.text();
    expect(html).toContain('<label class="drop" id="model-drop">');
    for (const [file, type] of [['page.js', /^text\/javascript/], ['worker.js', /^text\/javascript/], ['onnxq.js', /^text\/javascript/], ['ort-wasm-simd-threaded.jsep.wasm', /^application\/wasm$/]] as const) {
      const r = await fetch(url + file, { method: 'HEAD' });
      expect(r.status, file).toBe(200);
      expect(r.headers.get('content-type'), file).toMatch(type);
    }
    for (const path of ['../package.json', '..%2Fpackage.json', '%2e%2e/%2e%2e/package.json', 'missing.js']) expect((await fetch(url + path)).status, path).toBe(404);
    expect((await fetch(url, { method: 'POST', body: 'x' })).status).toBe(405);
  });
});

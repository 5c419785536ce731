/**
 * Peak memory of calibration at two sample counts: each configuration runs in a fresh child process
 * (bench/memory-child.ts) with a lazy source, so the peak RSS it reports belongs to that calibration
 * alone. If calibration keeps nothing per sample, the peak at 1024 samples equals the peak at 128.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MemoryChildResult } from './memory-child.js';
import type { OcrKind } from './ocr-data.js';
import { errorLine, mb, table } from './report.js';

export interface MemoryConfig {
  model: OcrKind;
  method: string;
  samples: number[];
}

export interface MemoryRun {
  config: { model: OcrKind; method: string; samples: number };
  result?: MemoryChildResult;
  error?: string;
}

const CHILD = fileURLToPath(new URL('./memory-child.js', import.meta.url));

export async function memoryRuns(configs: MemoryConfig[], threads: number | undefined, log: (line: string) => void): Promise<MemoryRun[]> {
  const runs: MemoryRun[] = [];
  for (const c of configs)
    for (const samples of c.samples) {
      const config = { model: c.model, method: c.method, samples };
      const t = performance.now();
      try {
        const result = await jsonChild<MemoryChildResult>(CHILD, [c.model, String(samples), c.method, ...(threads ? [String(threads)] : [])]);
        runs.push({ config, result });
        log(`  memory: ${c.model} ${c.method} ${samples} samples — peak RSS ${mb(result.peakRssBytes)} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
      } catch (e) {
        runs.push({ config, error: errorLine(e) });
        log(`  memory: ${c.model} ${c.method} ${samples} samples failed: ${errorLine(e)}`);
      }
    }
  return runs;
}

/** Runs a bench child script in a fresh Node process; its last stdout line is its JSON result. */
export function jsonChild<T>(script: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const last = out.trim().split('\n').pop();
      if (code === 0 && last) {
        try {
          resolve(JSON.parse(last) as T);
          return;
        } catch {
          /* fall through */
        }
      }
      reject(new Error(`${script} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ') || out.trim()}`));
    });
  });
}

export function printMemory(runs: MemoryRun[]): void {
  const byKey = new Map<string, MemoryRun[]>();
  for (const r of runs) {
    const k = `${r.config.model} ${r.config.method}`;
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  const rows = runs.map((r) => {
    const res = r.result;
    if (!res) return [r.config.model, r.config.method, r.config.samples, `failed: ${r.error}`];
    const group = byKey.get(`${r.config.model} ${r.config.method}`)!;
    const first = group[0]!.result;
    const growth = first && first !== res ? `${res.peakRssBytes - first.peakRssBytes >= 0 ? '+' : ''}${mb(res.peakRssBytes - first.peakRssBytes)}` : '';
    return [
      r.config.model, r.config.method, r.config.samples, mb(res.rssBeforeBytes), mb(res.peakRssBytes), growth,
      mb(res.peaks.heapUsed), mb(res.peaks.external), mb(res.end.rss), res.loads, `${(res.wallMs / 1000).toFixed(1)} s`, `${(res.renderMs / 1000).toFixed(1)} s`,
    ];
  });
  table(
    'Peak memory of calibration — one child process per row, lazy source (each sample rendered on load, never kept)',
    ['model', 'method', 'samples', 'RSS before', 'peak RSS (VmHWM)', 'Δ peak vs first', 'peak heapUsed', 'peak external', 'RSS end', 'loads', 'wall', 'of which rendering'],
    rows,
    [
      'aim: the same peak at every sample count (calibration keeps nothing per sample).',
      'render-only: the same loads (two passes) without calibrating — what drawing samples with @napi-rs/canvas costs by itself',
      '(its native buffers are freed only when V8 collects, so this control can grow where calibration, which allocates steadily and so collects often, does not).',
    ],
  );
}

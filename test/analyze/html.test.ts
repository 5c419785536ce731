/**
 * The analysis page (analyze/html.ts) on a synthetic report: nothing loads from the network, every name
 * is escaped, no NaN reaches an SVG attribute, the file grows linearly with the model; and in Debian's
 * Chromium the page opens from disk with no request and no console error, and its charts draw.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/analyze/html.js';
import { ANALYSIS_FORMAT, type AnalysisReport, type TensorError, type WeightRanges } from '../../src/analyze/report.js';
import { tempDir } from '../helpers/temp.js';
import { ARTIFACTS, hasChromium, keepScreenshot, openOffline } from '../helpers/browser.js';

const HOSTILE = 'conv<script>alert(1)</script>&"\'x';

/** Deterministic pseudo-random numbers, so the screenshot is the same run to run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function tensor(i: number, name: string, sqnr: number, op = 'Conv'): TensorError {
  const mse = Number.isFinite(sqnr) ? 10 ** (-sqnr / 10) : sqnr === Infinity ? 0 : 0.1;
  return {
    name,
    quantizedName: `${name}_DequantizeLinear_Output`,
    op,
    node: `/layer${i}/${op}`,
    bits: 8,
    scale: 0.0123 * (i + 1),
    zeroPoint: i % 2 ? 0 : 128,
    sqnr,
    cosine: Number.isFinite(sqnr) ? 1 - 10 ** (-sqnr / 10) / 2 : sqnr === Infinity ? 1 : NaN,
    mse,
    maxAbsError: sqnr === Infinity ? 0 : 0.05 * (i + 1),
    noiseToSignal: Number.isFinite(sqnr) ? 10 ** (-sqnr / 10) : sqnr === Infinity ? 0 : NaN,
  };
}

function weight(name: string, channels: number, seed: number, clipEvery: number): WeightRanges {
  const r = rng(seed);
  const min: number[] = [];
  const max: number[] = [];
  const clipMin: number[] = [];
  const clipMax: number[] = [];
  for (let c = 0; c < channels; c++) {
    const a = -(0.2 + r() * 0.8);
    const b = 0.2 + r() * 0.8;
    const m = Math.max(-a, b);
    // Symmetric int8, scale max|w|/127: [−128, 127]·scale; every clipEvery-th channel clipped to 60 %.
    const k = c % clipEvery === clipEvery - 1 ? 0.6 : 1;
    min.push(a);
    max.push(b);
    clipMin.push(-m * k * (128 / 127));
    clipMax.push(m * k);
  }
  return { name, node: `/${name}/Conv`, op: 'Conv', dims: [channels, 16, 3, 3], axis: 0, bits: 8, min, max, clipMin, clipMax, sqnr: 38.2 - seed };
}

function histogram(name: string, seed: number, shift: number): AnalysisReport['histograms'][number] {
  const r = rng(seed);
  const bins = 2048;
  const lo = -2 + shift;
  const hi = 6 + shift;
  const counts = Array.from({ length: bins }, (_, i) => {
    const x = lo + ((i + 0.5) / bins) * (hi - lo);
    return Math.round(5000 * Math.exp(-((x - shift) ** 2) / 0.5) + (r() < 0.05 ? 3 : 0));
  });
  return {
    name,
    min: lo + 0.01,
    max: hi - 0.02,
    lo,
    hi,
    counts,
    ranges: {
      minmax: { min: lo + 0.01, max: hi - 0.02 },
      'moving-average': { min: lo + 0.3, max: hi - 0.5 },
      percentile: { min: shift - 1.4, max: shift + 2.9 },
      entropy: { min: shift - 1.1, max: shift + 2.2 },
      mse: { min: shift - 1.2, max: shift + 2.5 },
      admm: { min: shift - 1.0, max: shift + 2.0 },
      // Wider than the histogram: drawn dashed at the edge.
      aciq: { min: lo - 1, max: hi + 1 },
    },
    used: { min: shift - 1.1, max: shift + 2.2 },
  };
}

function syntheticReport(tensorCount = 12): AnalysisReport {
  const ops = ['Conv', 'Relu', 'MatMul', 'Add', 'Softmax', 'MaxPool'];
  const tensors = Array.from({ length: tensorCount }, (_, i) => tensor(i, `/backbone/layer${i}/${ops[i % ops.length]}_output_0`, 34 - i * 2.7 + (i % 3) * 4, ops[i % ops.length]));
  tensors[0] = { ...tensor(0, 'input', Infinity, ''), node: '' };
  tensors[3] = tensor(3, HOSTILE, NaN);
  tensors[5] = tensor(5, '/backbone/layer5/Softmax_output_0', -Infinity, 'Softmax');
  return {
    format: ANALYSIS_FORMAT,
    floatModel: 'resnet<float>.onnx',
    quantizedModel: 'resnet&int8.onnx',
    samples: 32,
    outputs: [
      { name: 'logits', sqnr: 21.4, cosine: 0.99641, maxAbsError: 0.73, top1: 0.9375, rows: 32 },
      { name: 'aux"out', sqnr: 8.2, cosine: 0.9311, maxAbsError: 2.1, nonFinite: { float: 0, quantized: 3 } },
    ],
    tensors,
    layers: [
      { tensor: 'w<0>', kind: 'weight', node: HOSTILE, op: 'Conv', sqnr: 6.5, cosine: 0.88, top1: 0.5 },
      { tensor: 'h', kind: 'activation', node: '/head/MatMul', op: 'MatMul', sqnr: 14.2, cosine: 0.981, top1: 0.84 },
      { tensor: 'a', kind: 'activation', node: '/layer2/Conv', op: 'Conv', sqnr: 27.9, cosine: 0.9992, top1: 0.97 },
      { tensor: 'c', kind: 'activation', node: '/layer3/Add', op: 'Add', sqnr: NaN, cosine: NaN },
      { tensor: 'd', kind: 'activation', node: '/layer4/Relu', op: 'Relu', sqnr: Infinity, cosine: 1, top1: 1 },
    ],
    weights: [weight('backbone.conv1.weight', 64, 1, 9), weight(HOSTILE, 64, 2, 1000)],
    histograms: [histogram('/backbone/layer1/Relu_output_0', 3, 0), histogram(HOSTILE, 4, 1.5), histogram('/head/MatMul_output_0', 5, -0.5)],
    unmatched: ['extra_DequantizeLinear_Output', HOSTILE],
    methods: [
      { method: 'minmax', sqnr: 17.1, cosine: 0.9904, top1: 0.88, ms: 3.2, chosen: false },
      { method: 'percentile', sqnr: 20.3, cosine: 0.9953, top1: 0.91, ms: 41, chosen: false },
      { method: 'entropy', sqnr: 21.4, cosine: 0.9964, top1: 0.94, ms: 820, chosen: true },
      { method: 'mse', sqnr: 21.0, cosine: 0.996, top1: 0.94, ms: 1530, chosen: false },
    ],
    mixedPrecision: {
      budget: 'output SQNR ≥ 20 dB',
      met: true,
      start: 14.2,
      end: 21.4,
      steps: [
        { nodes: [HOSTILE], op: 'Conv', to: 'int16', metric: 18.3, latencyMs: 4.9 },
        { nodes: ['/head/MatMul'], op: 'MatMul', to: 'float', metric: 21.4, latencyMs: 5.6 },
      ],
      latencyMs: { float: 9.8, int8: 4.1, written: 5.6 },
    },
    timings: { analysisMs: 12873, floatInferenceMs: 431 },
  };
}

/** Every attribute value inside the page's SVG elements. */
function svgAttributes(html: string): string[] {
  return (html.match(/<svg[\s\S]*?<\/svg>/g) ?? []).flatMap((svg) => [...svg.matchAll(/\s[\w:-]+="([^"]*)"/g)].map((m) => m[1]!));
}

describe('analysis page: HTML', () => {
  const report = syntheticReport();
  const html = renderReport(report);

  it('refers to no external resource', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const bad of ['src=', 'href="http', "href='http", '<link', '@import', 'url(']) expect(html, bad).not.toContain(bad);
    // The only links are the section anchors.
    for (const m of html.matchAll(/href="([^"]*)"/g)) expect(m[1]).toMatch(/^#[a-z]+$/);
  });

  it('escapes every name from the model', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('resnet<float>');
    expect(html).not.toContain('resnet&int8');
    expect(html).not.toContain('aux"out');
    expect(html).toContain('conv&#60;script&#62;alert(1)&#60;/script&#62;&#38;&#34;&#39;x');
    // One script element: the page's own.
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('shows ±∞ and NaN SQNR as ∞, −∞ and —, never as NaN coordinates', () => {
    const attrs = svgAttributes(html);
    expect(attrs.length).toBeGreaterThan(100);
    for (const a of attrs) expect(a).not.toMatch(/NaN|Infinity|undefined/);
    expect(html).not.toMatch(/>\s*(NaN|Infinity|-Infinity|undefined|null)\s*</);
    expect(html).toContain('>∞<');
    expect(html).toContain('>−∞<');
    expect(html).toContain('>—<');
  });

  it('reads a JSON round trip, where ±∞ and NaN became null', () => {
    const fromJson = JSON.parse(JSON.stringify(report)) as AnalysisReport;
    expect(fromJson.tensors[0]!.sqnr).toBeNull();
    const page = renderReport(fromJson);
    for (const a of svgAttributes(page)) expect(a).not.toMatch(/NaN|Infinity|undefined|null/);
    // Identical tensors (no error at all) are still ∞ once their SQNR is null.
    const table = page.slice(page.indexOf('<table id="tensor-table"'));
    const row = table.slice(0, table.indexOf('</tr>', table.indexOf('<td class="name">input<')));
    expect(row).toContain('<span class="q inf">∞</span>');
  });

  it('copes with empty and degenerate data', () => {
    const empty: AnalysisReport = {
      ...syntheticReport(),
      tensors: [],
      outputs: [],
      layers: [],
      unmatched: [],
      methods: undefined,
      mixedPrecision: undefined,
      // One scale per tensor; a histogram with no counts and lo = hi; one with NaN and null in it.
      weights: [{ ...weight('w', 1, 7, 1000), axis: undefined, sqnr: NaN }],
      histograms: [
        { name: 'flat', min: 0, max: 0, lo: 0, hi: 0, counts: [], ranges: {}, used: { min: 0, max: 0 } },
        { ...histogram('odd', 8, 0), lo: NaN, counts: [NaN, 3, null as unknown as number], used: { min: -Infinity, max: Infinity } },
      ],
    };
    const page = renderReport(empty);
    for (const a of svgAttributes(page)) expect(a).not.toMatch(/NaN|Infinity|undefined|null/);
    expect(page).toContain('No quantized tensors compared.');
    expect(page).toContain('whole tensor');
    expect(page).not.toContain('id="methods"');
    expect(page).not.toContain('id="mixed"');
  });

  it('draws one bar per tensor, and stays linear in the number of tensors', () => {
    expect(html.match(/<rect class="bar /g)?.length).toBe(report.tensors.length + report.layers.length + report.methods!.length);
    // Linear in bytes (time is the benchmarks' business, not an assertion here).
    const sizes = [500, 2000].map((n) => {
      const page = renderReport({ ...syntheticReport(n), layers: [], methods: [] });
      expect(page.match(/<rect class="bar /g)?.length).toBe(n);
      return { bytes: page.length };
    });
    const perTensor = (sizes[1]!.bytes - sizes[0]!.bytes) / 1500;
    expect(perTensor).toBeLessThan(1200);
  });
});

describe.skipIf(!hasChromium)('analysis page: in Chromium', () => {
  it('opens offline with no request and no console error, and its charts draw', async () => {
    const report = syntheticReport();
    const dir = tempDir('onnxq-html-');
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, renderReport(report));
    const { requests, errors } = await openOffline(file, async (page) => {
      expect(await page.locator('#graph-chart rect.bar').count()).toBe(report.tensors.length);
      expect(await page.locator('svg.hist').count()).toBe(report.histograms.length);
      expect(await page.locator('svg.weights').count()).toBe(report.weights.length);
      expect(await page.locator('#layer-chart rect.bar').count()).toBe(report.layers.length);
      // Drawn with a size, not only present.
      const sizes = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => s.getBoundingClientRect().width * s.getBoundingClientRect().height));
      for (const s of sizes) expect(s).toBeGreaterThan(1000);
      await keepScreenshot(page, 'report.png');
      fs.copyFileSync(file, path.join(ARTIFACTS, 'report.html'));

      // The hostile name is text, not markup.
      expect(await page.locator('script').count()).toBe(1);
      expect(await page.locator('#tensor-table td.name', { hasText: '<script>alert(1)</script>&"' }).count()).toBe(1);

      // The conveniences work: sort by SQNR puts the worst first (−∞), no number last; the filter hides rows.
      await page.locator('#tensor-table th', { hasText: 'SQNR' }).click();
      const sqnrs = await page.$$eval('#tensor-table tbody tr', (rows) => rows.map((r) => (r as HTMLTableRowElement).cells[5]!.textContent));
      expect(sqnrs[0]).toBe('−∞');
      expect(sqnrs.at(-1)).toBe('—');
      await page.locator('input[data-filter="tensor-table"]').fill('relu');
      expect(await page.locator('#tensor-table tbody tr:visible').count()).toBe(report.tensors.filter((t) => /relu/i.test(t.name + t.op + t.node + t.quantizedName)).length);
      await page.locator('input[data-filter="tensor-table"]').fill('');

      // A narrow window: nothing breaks out of the page horizontally except inside scroll boxes.
      await page.setViewportSize({ width: 420, height: 900 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
    });
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
  }, 30_000);
});

/** `onnxq analyze FLOAT QUANT`: options → analyzeFiles(), then the worst tensors and layers as tables. */
import { reportJson, type AnalysisReport } from '../analyze/report.js';
import { analyzeFiles } from '../node/analyze-file.js';
import { formatDb, formatMs, printable, printableJson, validationLines } from './format.js';
import { imageOptions, type DataCliOptions } from './options.js';
import { withProgress } from './progress.js';

export interface AnalyzeCliOptions extends DataCliOptions {
  calib: string;
  samples?: number;
  layerSamples?: number;
  layerwise?: boolean;
  histograms?: boolean;
  top?: number;
  report?: string;
  /** true: print JSON; a path: write it there. */
  json?: boolean | string;
  seed?: number;
  threads?: number;
}

export async function runAnalyze(floatFile: string, quantizedFile: string, o: AnalyzeCliOptions): Promise<void> {
  const report = await withProgress(o.json === true, (onProgress) =>
    analyzeFiles(floatFile, quantizedFile, {
      calib: o.calib,
      image: imageOptions(o),
      inputShapes: o.inputShape,
      samples: o.samples,
      layerSamples: o.layerSamples,
      layerwise: o.layerwise,
      histograms: o.histograms,
      seed: o.seed,
      threads: o.threads,
      report: o.report,
      ...(typeof o.json === 'string' ? { json: o.json } : {}),
      onProgress,
    }),
  );
  if (o.json === true) process.stdout.write(printableJson(report, (v) => reportJson(v as AnalysisReport)));
  else process.stdout.write(analysisText(report, o.top ?? 15, [o.report, typeof o.json === 'string' ? o.json : undefined]));
}

/** The terminal summary: outputs, the worst tensors (graph-wise) and the most sensitive layers. */
export function analysisText(r: AnalysisReport, top: number, written: (string | undefined)[] = []): string {
  const lines: string[] = [];
  lines.push(`onnxq: ${r.quantizedModel} against ${r.floatModel}, on ${r.samples} sample${r.samples === 1 ? '' : 's'}`);
  lines.push('  graph outputs:', ...validationLines({ samples: r.samples, outputs: r.outputs, floatMs: r.timings.floatInferenceMs, quantizedMs: NaN }).slice(0, -1));
  const worst = [...r.tensors].sort((a, b) => a.sqnr - b.sqnr).slice(0, top);
  if (worst.length) {
    lines.push(`  worst quantized tensors (graph-wise: error carried from earlier layers), ${worst.length} of ${r.tensors.length}:`);
    lines.push(...table(['SQNR', 'cosine', 'op', 'tensor'], worst.map((t) => [formatDb(t.sqnr), t.cosine.toFixed(5), t.op || 'input', t.name])));
  }
  if (r.layers.length) {
    const sensitive = r.layers.slice(0, top);
    lines.push(`  most sensitive tensors (layer-wise: only this one quantized, measured at the outputs), ${sensitive.length} of ${r.layers.length}:`);
    lines.push(...table(['SQNR', 'cosine', 'kind', 'op', 'tensor'], sensitive.map((l) => [formatDb(l.sqnr), l.cosine.toFixed(5), l.kind, l.op || 'input', l.tensor])));
  }
  if (r.unmatched.length) lines.push(`  not compared: ${r.unmatched.length} quantized tensor(s) with no counterpart in the float model (e.g. ${r.unmatched[0]})`);
  for (const f of written) if (f) lines.push(`  wrote ${f}`);
  lines.push(`  done in ${formatMs(r.timings.analysisMs)}`);
  return lines.map(printable).join('\n') + '\n';
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '    ' + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

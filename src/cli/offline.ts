/** `onnxq quantize --mode dynamic | weight-only | fp16`: options → quantizeFileOffline(), then a summary. */
import type { OfflineMode } from '../offline.js';
import { quantizeFileOffline, type OfflineFileResult } from '../node/offline-file.js';
import { countList, formatBytes, formatMs, printable, printableJson, validationLines } from './format.js';
import { withProgress } from './progress.js';
import { imageOptions, type QuantizeCliOptions } from './options.js';

export async function runOffline(input: string, mode: OfflineMode, o: QuantizeCliOptions): Promise<void> {
  const result = await withProgress(o.json, (onProgress) =>
    quantizeFileOffline(input, o.output, {
      mode,
      target: o.target,
      weightType: o.weightType as 'int8' | 'uint8' | undefined,
      perChannel: o.perChannel,
      opTypes: o.opTypes,
      exclude: o.exclude,
      bits: o.bits,
      blockSize: o.blockSize,
      symmetric: o.symmetric,
      weightMethod: o.weightMethod as 'rtn' | 'hqq' | undefined,
      format: o.format,
      accuracyLevel: o.accuracyLevel,
      quantizeEmbeddings: o.quantizeEmbeddings,
      keepIoTypes: o.keepIoTypes,
      force: o.force,
      validate: o.validate,
      inputShapes: o.inputShape,
      inputValues: o.inputValue,
      threads: o.threads,
      seed: o.seed,
      calib: o.calib,
      image: imageOptions(o),
      externalData: o.externalData,
      onProgress,
    }),
  );
  if (o.json) process.stdout.write(printableJson(jsonSummary(input, result)));
  else process.stdout.write(textSummary(input, result));
}

function jsonSummary(input: string, r: OfflineFileResult) {
  return {
    input,
    mode: r.mode,
    files: r.files,
    bytes: r.bytes,
    opset: r.prepare.opset,
    quantized: r.report.quantized,
    float: r.report.float,
    ...(r.weightOnly ? { weightBytes: { before: r.weightOnly.bytesBefore, after: r.weightOnly.bytesAfter }, options: r.weightOnly.options } : {}),
    ...(r.float16 ? { float16: r.float16 } : {}),
    validation: r.validation ?? null,
    validatedOn: r.validatedOn ?? null,
    timings: r.timings,
    warnings: r.warnings,
    notes: r.notes,
  };
}

const WHAT: Record<OfflineMode, string> = {
  dynamic: 'dynamic int8 (weights now, activations at run time)',
  'weight-only': 'weight-only',
  fp16: 'float16',
};

function textSummary(input: string, r: OfflineFileResult): string {
  const lines: string[] = [];
  lines.push(`onnxq: ${input} → ${r.files.model}${r.files.data ? ` (+ ${r.files.data})` : ''}`);
  lines.push(`  mode ${WHAT[r.mode]}; opset ${r.prepare.opset.from}${r.prepare.opset.to !== r.prepare.opset.from ? ` → ${r.prepare.opset.to}` : ''}`);
  lines.push(`  size ${formatBytes(r.bytes.input)} → ${formatBytes(r.bytes.output)} (${((r.bytes.output / r.bytes.input) * 100).toFixed(0)} %)`);
  if (r.report.quantized.length) lines.push(`  quantized: ${countList(r.report.quantized.map((q) => q.op))}`);
  if (r.weightOnly) {
    const w = r.weightOnly;
    const o = w.options;
    lines.push(`  ${o.bits}-bit ${o.symmetric ? 'symmetric' : 'asymmetric'} blocks of ${o.blockSize} (${o.method}) as ${countList(w.quantized.map((q) => q.as))}: weights ${formatBytes(w.bytesBefore)} → ${formatBytes(w.bytesAfter)}`);
  }
  if (r.float16) {
    const f = r.float16;
    lines.push(`  ${f.converted} tensors now float16: ${formatBytes(f.bytes.before)} → ${formatBytes(f.bytes.after)}; ${f.casts} Casts added`);
    const tiny = f.tiny.reduce((a, t) => a + t.count, 0);
    if (tiny) lines.push(`  ${tiny} non-zero values below 2^-24 raised to ±2^-24 rather than flushed to zero`);
  }
  if (r.validation) lines.push(`  validation on ${r.validation.samples} sample${r.validation.samples === 1 ? '' : 's'} from ${r.validatedOn}:`, ...validationLines(r.validation));
  if (r.report.float.length) {
    lines.push(`  left in ${r.mode === 'fp16' ? 'float32' : 'float'}:`);
    const groups = new Map<string, number>();
    for (const f of r.report.float) groups.set(`${f.op}\u0000${f.reason}`, (groups.get(`${f.op}\u0000${f.reason}`) ?? 0) + 1);
    for (const [key, n] of groups) {
      const [op, reason] = key.split('\u0000');
      lines.push(`    ${op}${n > 1 ? ` ×${n}` : ''}: ${reason}`);
    }
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  lines.push(`  done in ${formatMs(r.timings.totalMs)}`);
  return lines.map(printable).join('\n') + '\n';
}

/** `onnxq qat`: options → qatFile(), then a summary of the training and of the model written. */
import { qatFile, type QatFileResult } from '../node/qat-file.js';
import type { PlanOptions } from '../plan/build.js';
import type { RangeMethodName } from '../calibrate/observer.js';
import type { QatOptimizer } from '../qat.js';
import { imageOptions, type DataCliOptions } from './options.js';
import { formatBytes, formatMs, jsonHead, printable, printableJson, validationLines } from './format.js';
import { withProgress } from './progress.js';
import { widthLines } from './quantize.js';

export interface QatCliOptions extends Omit<PlanOptions, 'method' | 'weightMethod'>, DataCliOptions {
  output: string;
  data: string;
  labels?: string;
  epochs: number;
  lr?: number;
  batchSize?: number;
  optimizer?: QatOptimizer;
  loss?: 'mse' | 'kl';
  learnScales?: boolean;
  method?: RangeMethodName;
  percentile?: number;
  calibSamples?: number;
  seed?: number;
  threads?: number;
  savePlan?: string;
  saveRanges?: string;
  externalData?: boolean;
  validate?: boolean;
  json?: boolean;
}

export async function runQat(input: string, o: QatCliOptions): Promise<void> {
  const { output, data, json, inputShape, size, resize, layout, channels, mean, std, scale, ...rest } = o;
  const result = await withProgress(json, (onProgress) =>
    qatFile(input, output, { ...rest, data, inputShapes: inputShape, image: imageOptions({ size, resize, layout, channels, mean, std, scale }), onProgress }),
  );
  process.stdout.write(json ? printableJson(jsonSummary(input, result)) : textSummary(input, result));
}

function jsonSummary(input: string, r: QatFileResult) {
  return {
    ...jsonHead(input, r),
    training: r.training,
    quantized: { activations: r.export.quantizedActivations, weights: r.export.quantizedWeights, biases: r.export.quantizedBiases },
    float: r.plan.float,
    validation: r.validation ?? null,
    timings: r.timings,
    warnings: r.warnings,
    notes: r.notes,
  };
}

function textSummary(input: string, r: QatFileResult): string {
  const t = r.training;
  const loss = (v: number) => v.toPrecision(4);
  const lines = [
    `onnxq qat: ${input} → ${r.files.model}${r.files.data ? ` (+ ${r.files.data})` : ''}`,
    `  target ${r.plan.target}; ranges initialised on ${r.samples.calibration} samples in ${formatMs(r.timings.calibrateMs)}`,
    `  trained ${t.trained.weights} weights, ${t.trained.biases} biases and ${t.trained.scales} quantization scales: ${t.epochs} epoch${t.epochs === 1 ? '' : 's'} of ${t.samples} samples, ` +
      `${t.steps} step${t.steps === 1 ? '' : 's'} of ${t.batchSize}, ${t.optimizer} at ${t.lr} (cosine)`,
    `  ${t.loss} loss ${loss(t.startLoss)} (first steps) → ${t.epochLoss.map(loss).join(' → ')} (epoch mean${t.epochs === 1 ? '' : 's'}); ${formatMs(t.ms)}, ${formatMs(t.msPerStep)} per step`,
    `  size ${formatBytes(r.bytes.input)} → ${formatBytes(r.bytes.output)} (${((r.bytes.output / r.bytes.input) * 100).toFixed(0)} %)`,
    `  quantized ${r.export.quantizedWeights} weights, ${r.export.quantizedBiases} biases, ${r.export.quantizedActivations} activations`,
  ];
  if (t.untrained.length) lines.push(`  not trained (the first output does not depend on them): ${t.untrained.slice(0, 5).join(', ')}${t.untrained.length > 5 ? ` and ${t.untrained.length - 5} more` : ''}`);
  if (r.validation) lines.push(`  validation on ${r.validation.samples} held-out samples (not trained on), against the float model:`, ...validationLines(r.validation));
  lines.push(...widthLines(r.plan));
  for (const f of [r.files.plan, r.files.ranges]) if (f) lines.push(`  wrote ${f}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  lines.push(`  done in ${formatMs(r.timings.totalMs)}`);
  return lines.map(printable).join('\n') + '\n';
}

/** `onnxq quantize`: options → quantizeFile(), then a summary of what was gained and what it cost. */
import { quantizeFile, type QuantizeFileOptions, type QuantizeFileResult } from '../node/quantize-file.js';
import type { PlanOptions } from '../plan/build.js';
import { countList, formatBytes, formatDb, formatMs } from './format.js';
import { terminalProgress } from './progress.js';

/** What commander hands over: the plan options under their own names, and the file and image options. */
export interface QuantizeCliOptions extends PlanOptions {
  output: string;
  calib: string;
  percentile?: number;
  calibSamples?: number;
  seed?: number;
  threads?: number;
  batchSize?: number;
  inputShape?: Record<string, number[]>;
  size?: [number, number];
  resize?: 'stretch' | 'fit-pad';
  layout?: 'nchw' | 'nhwc';
  channels?: 'rgb' | 'bgr' | 'gray';
  mean?: number | number[];
  std?: number | number[];
  scale?: number;
  plan?: string;
  savePlan?: string;
  saveRanges?: string;
  calibCache?: string;
  trtVersion?: string;
  externalData?: boolean;
  validate?: boolean;
  json?: boolean;
}

export async function runQuantize(input: string, o: QuantizeCliOptions, argv: string[], ignoredWithPlan: string[] = []): Promise<void> {
  const progress = terminalProgress(!o.json && process.stderr.isTTY && !process.env.CI);
  const options: QuantizeFileOptions = {
    calib: o.calib,
    method: o.method,
    percentile: o.percentile,
    weightMethod: o.weightMethod,
    target: o.target,
    activationType: o.activationType,
    weightType: o.weightType,
    symmetric: o.symmetric,
    weightAsymmetric: o.weightAsymmetric,
    perChannel: o.perChannel,
    reduceRange: o.reduceRange,
    exclude: o.exclude,
    opTypes: o.opTypes,
    calibSamples: o.calibSamples,
    seed: o.seed,
    threads: o.threads,
    batchSize: o.batchSize,
    inputShapes: o.inputShape,
    image: { size: o.size, resize: o.resize, layout: o.layout, channels: o.channels, mean: o.mean, std: o.std, scale: o.scale },
    planFile: o.plan,
    savePlan: o.savePlan,
    saveRanges: o.saveRanges,
    calibCache: o.calibCache,
    trtVersion: o.trtVersion,
    externalData: o.externalData,
    validate: o.validate,
    recordOptions: { argv },
    onProgress: progress.update,
  };
  let result: QuantizeFileResult;
  try {
    result = await quantizeFile(input, o.output, options);
  } finally {
    progress.stop();
  }
  const flag = (k: string) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
  if (ignoredWithPlan.length) result.warnings.push(`${ignoredWithPlan.map(flag).join(', ')} had no effect: the plan from --plan decides what is quantized and how.`);
  if (o.json) process.stdout.write(JSON.stringify(jsonSummary(input, result), null, 2) + '\n');
  else process.stdout.write(textSummary(input, result));
}

function jsonSummary(input: string, r: QuantizeFileResult) {
  return {
    input,
    files: r.files,
    bytes: r.bytes,
    target: r.plan.target,
    samples: r.samples,
    opset: r.prepare.opset,
    quantized: {
      activations: r.export.quantizedActivations,
      weights: r.export.quantizedWeights,
      biases: r.export.quantizedBiases,
      foldedActivations: r.export.foldedActivations.length,
    },
    float: r.plan.float,
    subgraphs: r.plan.subgraphs,
    validation: r.validation ?? null,
    timings: r.timings,
    warnings: r.warnings,
    notes: r.notes,
  };
}

function textSummary(input: string, r: QuantizeFileResult): string {
  const lines: string[] = [];
  const ratio = r.bytes.output / r.bytes.input;
  lines.push(`onnxq: ${input} → ${r.files.model}${r.files.data ? ` (+ ${r.files.data})` : ''}`);
  lines.push(`  target ${r.plan.target}; opset ${r.prepare.opset.from}${r.prepare.opset.to !== r.prepare.opset.from ? ` → ${r.prepare.opset.to}` : ''}; calibrated on ${r.samples.calibration} samples in ${formatMs(r.timings.calibrateMs)}`);
  lines.push(`  size ${formatBytes(r.bytes.input)} → ${formatBytes(r.bytes.output)} (${(ratio * 100).toFixed(0)} %)`);
  lines.push(
    `  quantized ${r.export.quantizedWeights} weights, ${r.export.quantizedBiases} biases, ${r.export.quantizedActivations} activations; ${r.export.foldedActivations.length} Relu/Clip folded into their producer`,
  );
  if (r.validation) {
    const v = r.validation;
    lines.push(`  validation on ${v.samples} held-out sample${v.samples === 1 ? '' : 's'}${r.samples.shared ? ' (the calibration sample itself)' : ''}:`);
    for (const out of v.outputs)
      lines.push(
        `    ${out.name}: SQNR ${formatDb(out.sqnr)}, cosine ${out.cosine.toFixed(5)}${out.top1 !== undefined ? `, top-1 agreement ${(out.top1 * 100).toFixed(1)} % of ${out.rows} rows` : ''}`,
      );
    lines.push(`    latency float ${formatMs(v.floatMs)} → quantized ${formatMs(v.quantizedMs)} per sample (${(v.quantizedMs / v.floatMs).toFixed(2)}×)`);
  }
  if (r.plan.float.length) lines.push(`  left in float: ${countList(r.plan.float.map((f) => (f.reason === 'no quantization rule' ? f.op : `${f.op} (${f.reason})`)))}`);
  for (const s of r.plan.subgraphs) lines.push(`  left in float: the ${s.nodes} nodes inside ${s.op} '${s.node}' (static quantization covers the top-level graph)`);
  if (r.export.keptActivations.length) lines.push(`  kept ${r.export.keptActivations.length} Relu/Clip whose removal would not have been exact`);
  if (r.export.adjustedWeightChannels) lines.push(`  enlarged ${r.export.adjustedWeightChannels} weight-channel scales so that int32 biases do not overflow`);
  for (const f of [r.files.plan, r.files.ranges, r.files.calibCache]) if (f) lines.push(`  wrote ${f}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  lines.push(`  done in ${formatMs(r.timings.totalMs)}`);
  return lines.join('\n') + '\n';
}

/**
 * Section 10 (only with `--only adaround`: it trains every layer): AdaRound on PaddleOCR's classifier
 * (a MobileNetV3) with 4-bit per-channel weights and 8-bit activations — round to nearest (minmax)
 * against learned rounding by layer and by block from one calibration, scored on rendered lines it was
 * not calibrated on, with the time AdaRound took.
 */
import { calibrate, loadModelFile, memorySource, quantizeCalibrated, type Sample } from '../src/index.js';
import type { Reconstruct } from '../src/index.js';
import { int8Bytes, ocrQuality, type QualityRow } from './int8-vs-float.js';
import { ocrSample, OCR_MODELS, sourceCountFor } from './ocr-data.js';
import { ms, table } from './report.js';

export interface AdaRoundRun {
  calibSamples: number;
  iterations: number;
  units: Record<Reconstruct, { count: number; ms: number; sqnrBefore: number; sqnrAfter: number }>;
  quality: QualityRow[];
}

export async function adaRoundRun(calibSamples: number, iterations: number, threads: number | undefined, log: (s: string) => void): Promise<AdaRoundRun> {
  const count = sourceCountFor(calibSamples);
  const all: Sample[] = Array.from({ length: count }, (_, i) => ocrSample('cls', i));
  const cal = await calibrate(loadModelFile(OCR_MODELS.cls).model, memorySource(all, `${count} rendered cls samples`), {
    calibSamples,
    threads,
    method: 'minmax',
    planOptions: [{ method: 'minmax', weightBits: 4 }],
  });
  const rtn = await quantizeCalibrated(cal, { method: 'minmax', weightBits: 4, validate: false, threads });
  const variants: [string, Uint8Array][] = [['w4 round to nearest', int8Bytes(rtn)]];
  const units = {} as AdaRoundRun['units'];
  for (const reconstruct of ['layer', 'block'] as const) {
    log(`adaround: cls, by ${reconstruct}, ${iterations} steps`);
    const r = await quantizeCalibrated(cal, { method: 'adaround', weightBits: 4, validate: false, threads, adaround: { reconstruct, iterations, samples: calibSamples } });
    const a = r.adaRound!;
    const mean = (f: (u: (typeof a.units)[number]) => number) => a.units.reduce((s, u) => s + f(u), 0) / Math.max(1, a.units.length);
    units[reconstruct] = { count: a.units.length, ms: a.totalMs, sqnrBefore: mean((u) => u.sqnrBefore), sqnrAfter: mean((u) => u.sqnrAfter) };
    variants.push([`w4 AdaRound by ${reconstruct}`, int8Bytes(r)]);
  }
  log('adaround: scoring');
  return { calibSamples, iterations, units, quality: await ocrQuality('cls', variants, threads) };
}

export function printAdaRound(run: AdaRoundRun): void {
  table(
    `AdaRound on PaddleOCR cls, 4-bit weights / 8-bit activations (${run.iterations} steps per unit, ${run.calibSamples} samples)`,
    ['reconstruction', 'units', 'time', 'mean unit SQNR, nearest → learned'],
    (['layer', 'block'] as const).map((k) => [k, run.units[k].count, ms(run.units[k].ms, 0), `${run.units[k].sqnrBefore.toFixed(1)} → ${run.units[k].sqnrAfter.toFixed(1)} dB`]),
  );
}

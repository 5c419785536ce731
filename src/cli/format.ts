/** Small formatting helpers for the terminal summary. */
import type { ValidationReport } from '../analyze/validate.js';
import { printable } from '../errors.js';

export { printable };

/** JSON for a terminal or a pipe: JSON.stringify escapes C0 in strings (its raw newlines are its layout); the rest of what printable() escapes is escaped too. */
export function printableJson(value: unknown, json: (value: unknown) => string = (v) => JSON.stringify(v, null, 2)): string {
  return json(value).trimEnd().replace(/[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatDb(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(1)} dB` : v > 0 ? '∞ dB (identical)' : v < 0 ? '-∞ dB' : 'not a number';
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(ms < 10 ? 2 : 0)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "Conv ×3, Add ×2" from a list of op types. */
export function countList(items: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const i of items) counts.set(i, (counts.get(i) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(', ');
}

/** The body of a summary's validation block: per-output SQNR and cosine, then latency. */
export function validationLines(v: ValidationReport): string[] {
  const lines: string[] = [];
  for (const out of v.outputs)
    if (out.nonFinite)
      lines.push(
        `    ${out.name}: not compared: ${out.nonFinite.float} values of the float model's output and ${out.nonFinite.quantized} of the quantized model's are NaN or ±Infinity`,
      );
    else
      lines.push(
      `    ${out.name}: SQNR ${formatDb(out.sqnr)}, cosine ${out.cosine.toFixed(5)}${out.top1 !== undefined ? `, top-1 agreement ${(out.top1 * 100).toFixed(1)} % of ${out.rows} rows` : ''}`,
    );
  lines.push(`    latency float ${formatMs(v.floatMs)} → quantized ${formatMs(v.quantizedMs)} per sample (${(v.quantizedMs / v.floatMs).toFixed(2)}×)`);
  return lines;
}

/** The first fields of a --json summary of a model written: what went in, what came out. */
export function jsonHead(input: string, r: { files: object; bytes: object; plan: { target: string }; samples: object }) {
  return { input, files: r.files, bytes: r.bytes, target: r.plan.target, samples: r.samples };
}

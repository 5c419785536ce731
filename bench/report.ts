/**
 * Output of the bench: compact aligned tables on stdout, number formatting, and the JSON file that
 * collects every section's raw numbers (bench-results.json in the current directory).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export type Cell = string | number | undefined | null;

/** Prints a titled table; numbers are right-aligned, text left-aligned. */
export function table(title: string, headers: string[], rows: Cell[][], notes: string[] = []): void {
  const text = rows.map((r) => headers.map((_, i) => cell(r[i])));
  const right = headers.map((_, i) => rows.some((r) => typeof r[i] === 'number' || /^[-+]?[\d.]+(?:[×x%]|\s?(?:ms|dB|MB|KB|GB|s))?$/.test(cell(r[i]))));
  const width = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (right[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd();
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log(width.map((w) => '─'.repeat(w)).join('  '));
  for (const r of text) console.log(line(r));
  for (const n of notes) console.log(`  ${n}`);
}

function cell(v: Cell): string {
  if (v === undefined || v === null) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  return v;
}

export function heading(text: string): void {
  console.log(`\n${'═'.repeat(Math.min(100, text.length + 4))}\n  ${text}\n${'═'.repeat(Math.min(100, text.length + 4))}`);
}

export const ms = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(digits)} ms`);
export const x = (v: number | undefined, digits = 2): string => (v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(digits)}×`);
export const pct = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(digits)}%`);
export const db = (v: number | undefined): string => (v === undefined ? '–' : v === Infinity ? '∞ dB' : `${v.toFixed(1)} dB`);
export const mb = (bytes: number | undefined): string => (bytes === undefined ? '–' : `${(bytes / 2 ** 20).toFixed(1)} MB`);
export const gb = (bytes: number | undefined): string => (bytes === undefined ? '–' : `${(bytes / 2 ** 30).toFixed(2)} GB`);
export const kb = (bytes: number): string => (bytes >= 2 ** 20 ? mb(bytes) : `${(bytes / 1024).toFixed(0)} KB`);

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

/** An error as one line: an OnnxqError's code and message, or the first line of anything else. */
export function errorLine(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const first = e.message.split('\n')[0]!;
    return e.name === 'OnnxqError' && typeof code === 'string' ? `${code}: ${first}` : `${e.name}: ${first}`;
  }
  return String(e);
}

/** Where the machine stood: CPUs, load, versions (the numbers mean little without it). */
export function environment(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryMB: Math.round(os.totalmem() / 2 ** 20),
    loadAverage: os.loadavg().map((v) => Number(v.toFixed(2))),
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** The commit and the files changed in the working tree, when run from a git checkout (the numbers belong to that code). */
export function codeState(): { commit?: string; changed?: string[] } {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    const changed = git('status', '--porcelain', '--', 'src', 'demo', 'package.json').split('\n').filter(Boolean).map((l) => l.slice(3));
    return { commit: git('rev-parse', '--short', 'HEAD'), changed };
  } catch {
    return {};
  }
}

/** Writes the results as JSON (written to a temporary name, then renamed). */
export function writeResults(file: string, results: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(results, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n');
  fs.renameSync(tmp, file);
}

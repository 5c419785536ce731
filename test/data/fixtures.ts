/** Test fixtures written at test time: temp folders, .npy/.npz files and images made from raw pixels. */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { zipSync } from 'fflate';
import { expect } from 'vitest';
import { OnnxqError, type ErrorCode } from '../../src/errors.js';
import { encodeNpy } from '../../src/data/npy.js';
import type { HostTensor, ModelInput } from '../../src/data/source.js';
import { tempDir as makeTempDir } from '../helpers/temp.js';

export function tempDir(): string {
  return makeTempDir('onnxq-data-');
}

export function npy(dtype: string, dims: number[], data: HostTensor['data']): HostTensor {
  return { dtype, dims, data };
}

export function writeNpyFile(file: string, t: HostTensor): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, encodeNpy(t));
  return file;
}

/** A .npy with a hand-written header dict, for forms encodeNpy does not produce. */
export function rawNpy(dict: string, data: Uint8Array, version = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const padded = dict.padEnd(total - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  out.set(new TextEncoder().encode(padded), prefix);
  out.set(data, total);
  return out;
}

export function writeNpz(file: string, arrays: Record<string, HostTensor>, level: 0 | 6 = 0): string {
  const entries: Record<string, [Uint8Array, { level: 0 | 6 }]> = {};
  for (const [k, t] of Object.entries(arrays)) entries[`${k}.npy`] = [encodeNpy(t), { level }];
  fs.writeFileSync(file, zipSync(entries));
  return file;
}

/** Writes an RGB image from raw pixels (row-major, 3 bytes per pixel). */
export async function writeImage(file: string, width: number, height: number, rgb: number[] | Uint8Array, format: 'png' | 'jpeg' = 'png'): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp(Buffer.from(rgb), { raw: { width, height, channels: 3 } });
  await (format === 'png' ? img.png() : img.jpeg({ quality: 100 })).toFile(file);
  return file;
}

export function solid(width: number, height: number, [r, g, b]: [number, number, number]): Uint8Array {
  const px = new Uint8Array(width * height * 3);
  for (let i = 0; i < px.length; i += 3) px.set([r, g, b], i);
  return px;
}

export function input(name: string, dtype: string, shape: ModelInput['shape']): ModelInput {
  return { name, dtype, shape };
}

/** Asserts that `fn` throws (or rejects with) an OnnxqError with `code` whose message matches every pattern. */
export async function expectError(fn: () => unknown, code: ErrorCode, ...patterns: (string | RegExp)[]): Promise<OnnxqError> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected an OnnxqError').toBeInstanceOf(OnnxqError);
  const e = error as OnnxqError;
  expect(e.code, e.message).toBe(code);
  for (const p of patterns) {
    if (typeof p === 'string') expect(e.message).toContain(p);
    else expect(e.message).toMatch(p);
  }
  return e;
}

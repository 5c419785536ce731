/**
 * What a calibration folder holds. Two layouts:
 * - arrays: `.npy` files directly in the folder, one per model input and named after it
 *   (`x.npy` for input `x`), each holding every sample along its first axis, like the arrays of an .npz;
 * - images: image files in the folder or its subfolders (walked in sorted order), for a model
 *   with one image input.
 * Hidden entries (starting with '.') are ignored; other files are skipped with a note.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../errors.js';
import { isImageFile } from './pixels.js';
import type { CalibrationFiles } from './choose.js';
import type { ArrayReader } from './npy.js';
import { openNpy } from './npy-file.js';

/** Code-point order: the same on every machine and locale. */
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function list(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => !d.name.startsWith('.')).sort((a, b) => byCodePoint(a.name, b.name));
  } catch (e) {
    fail('IO', `cannot list the calibration folder ${dir}: ${(e as Error).message}`, e);
  }
}

/**
 * Lists a folder's calibration files; only .npy headers are read. `.npy` files directly in the folder
 * by name without `.npy`; image files in the folder and its subfolders, sorted by relative path; the
 * relative paths of files that are neither.
 */
export function scanFolder(dir: string): CalibrationFiles<string> {
  const arrays = new Map<string, ArrayReader>();
  const images: string[] = [];
  const skipped: string[] = [];
  const walk = (sub: string, top: boolean) => {
    for (const d of list(path.join(dir, sub))) {
      const rel = sub ? path.join(sub, d.name) : d.name;
      const full = path.join(dir, rel);
      const isDir = d.isDirectory() || (d.isSymbolicLink() && fs.statSync(full, { throwIfNoEntry: false })?.isDirectory());
      if (isDir) walk(rel, false);
      else if (top && d.name.toLowerCase().endsWith('.npy')) arrays.set(d.name.slice(0, -4), openNpy(full, { where: full }));
      else if (isImageFile(d.name)) images.push(full);
      else skipped.push(rel);
    }
  };
  walk('', true);
  return { arrays, images, skipped };
}

/**
 * Files picked or dropped in a page, turned into what the core takes: a model (its external data files
 * given beside it, matched by name) and a calibration source (an .npy, an .npz, .npy files named after
 * the inputs, or images), checked against the model's inputs as the command line checks --calib.
 */
import type { ModelProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { decodeModel } from '../onnx/codec.js';
import { inlineExternal } from '../onnx/external.js';
import { checkModel } from '../ir/check.js';
import { folderSource, npySource, npzSource, type CalibrationFiles } from '../data/choose.js';
import { npyFromBytes, type ArrayReader } from '../data/npy.js';
import { npzFromBytes } from '../data/npz-bytes.js';
import { imageSourceOf, isImageFile, type ImageOptions } from '../data/pixels.js';
import type { CalibrationSource, ModelInput } from '../data/source.js';
import { decodeInBrowser } from './images.js';
import { checkModelSize } from './limits.js';

/**
 * Decodes a model file, its external data read from the files given with it (matched by name, as the
 * model's `location` names them) and kept in memory, where onnxruntime-web takes it from.
 */
export async function loadModel(model: File, dataFiles: readonly File[] = []): Promise<ModelProto> {
  checkModelSize(model.name, model.size + dataFiles.reduce((n, f) => n + f.size, 0));
  const data = new Map(await Promise.all(dataFiles.map(async (f) => [f.name, new Uint8Array(await f.arrayBuffer())] as const)));
  const decoded = decodeModel(new Uint8Array(await model.arrayBuffer()), model.name, (location, offset, length, tensor) => {
    const bytes = data.get(location.split('/').pop()!);
    if (!bytes) fail('EXTERNAL_DATA', `${model.name} keeps its weights in a second file, '${location}', which was not given: pick '${location}' together with the model.`);
    const n = length ?? bytes.length - offset;
    if (offset + n > bytes.length)
      fail('EXTERNAL_DATA', `${model.name}: external data file '${location}' is ${bytes.length} bytes, but tensor '${tensor}' needs bytes ${offset}..${offset + n}. The data file is truncated or belongs to another model.`);
    return { folder: '', file: location, offset, length: n, read: () => bytes.slice(offset, offset + n) };
  });
  // The page has no file for onnxruntime to read: every weight goes into the model's own bytes.
  inlineExternal(decoded.graph!);
  checkModel(decoded, model.name);
  return decoded;
}

/** The name a picked file is shown by: its path inside a picked folder, else its name. */
function fileLabel(f: File): string {
  return f.webkitRelativePath || f.name;
}

/**
 * A calibration source from picked files: one .npy or one .npz, or several files as a folder would hold
 * them (.npy files named after the inputs, or images; anything else skipped with a note).
 */
export async function openCalibrationFiles(files: readonly File[], inputs: readonly ModelInput[], options: ImageOptions = {}): Promise<CalibrationSource> {
  if (files.length === 0) fail('BAD_CALIBRATION', 'no calibration files were given: pick a folder of images, an .npy or an .npz.');
  if (inputs.length === 0) fail('BAD_CALIBRATION', 'the model has no inputs to feed, so it cannot be calibrated.');
  const lower = (f: File) => f.name.toLowerCase();
  const bytes = async (f: File) => new Uint8Array(await f.arrayBuffer());
  if (files.length === 1 && lower(files[0]!).endsWith('.npy')) return npySource(npyFromBytes(await bytes(files[0]!), files[0]!.name), files[0]!.name, inputs, options);
  if (files.length === 1 && lower(files[0]!).endsWith('.npz')) return npzSource(npzFromBytes(await bytes(files[0]!), files[0]!.name), files[0]!.name, inputs, options);
  // A folder's files arrive in the browser's order: sorted by path in code-point order, as the command line walks a folder.
  const sorted = [...files].sort((a, b) => (fileLabel(a) < fileLabel(b) ? -1 : fileLabel(a) > fileLabel(b) ? 1 : 0));
  const contents: CalibrationFiles<File> = { arrays: new Map<string, ArrayReader>(), images: [], skipped: [] };
  for (const f of sorted) {
    if (f.name.startsWith('.')) continue;
    if (lower(f).endsWith('.npy')) contents.arrays.set(f.name.slice(0, -4), npyFromBytes(await bytes(f), fileLabel(f)));
    else if (isImageFile(f.name)) contents.images.push(f);
    else contents.skipped.push(fileLabel(f));
  }
  const where = folderName(sorted);
  return folderSource(contents, where, inputs, options, (images, input, notes) => imageSourceOf(images, fileLabel, decodeInBrowser, input, options, where, notes));
}

/** "calib/" for the files of a picked folder, else "the N files given". */
function folderName(files: readonly File[]): string {
  const path = (f: File) => f.webkitRelativePath ?? ''; // '' outside a picked folder (absent outside browsers)
  const top = path(files[0]!).split('/')[0];
  return top && files.every((f) => path(f).startsWith(`${top}/`)) ? `${top}/` : `the ${files.length} files given`;
}

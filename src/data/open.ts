/**
 * `--calib PATH`: turns a path into a calibration source for a model's inputs, checking shapes
 * and dtypes against the inputs before any sample is read. PATH may be
 * - a .npy file (single-input models; first axis = samples),
 * - a .npz file (one array per input, `x.npy` for input `x`),
 * - a folder of .npy files named after the inputs (same arrays as an .npz, one file each),
 * - a folder of images, or a single image (single image input; see images.ts for the options).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../errors.js';
import { arraySource, bindArrays } from './arrays.js';
import { scanFolder, skippedNote } from './folder.js';
import { imageSource, isImageFile, type ImageOptions } from './images.js';
import { openNpy } from './npy-file.js';
import { openNpz } from './npz.js';
import type { CalibrationSource, ModelInput } from './source.js';

/** Options of `openCalibration`: for now only the image options (arrays refuse them: they would do nothing). */
export type CalibrationOptions = ImageOptions;

const FORMS = 'a .npy or .npz file, a folder of .npy files named after the model inputs, or a folder of images';

export async function openCalibration(calibPath: string, inputs: readonly ModelInput[], options: CalibrationOptions = {}): Promise<CalibrationSource> {
  if (inputs.length === 0) fail('BAD_CALIBRATION', `the model has no inputs to feed, so ${calibPath} cannot calibrate it.`);
  const names = inputs.map((x) => `'${x.name}'`).join(', ');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(calibPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail('IO', `cannot read the calibration data ${calibPath}: ${code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}. --calib takes ${FORMS}.`, e);
  }
  const notes: string[] = [];

  if (stat.isDirectory()) {
    const { arrays, images, skipped } = scanFolder(calibPath);
    if (arrays.size > 0 && images.length > 0)
      fail('BAD_CALIBRATION', `${calibPath} holds both .npy files and images; onnxq cannot tell which to use. Keep one kind in the folder.`);
    const note = skippedNote(calibPath, skipped);
    if (note) notes.push(note);
    if (arrays.size > 0) {
      refuseImageOptions(options, calibPath, 'holds .npy files');
      const bound = bindArrays(arrays, inputs, `the folder ${calibPath}`, (k) => `${k}.npy`, notes);
      return arraySource(calibPath, bound, notes);
    }
    if (images.length > 0) return imageSource(images, singleInput(inputs, calibPath, 'a folder of images'), options, calibPath, notes);
    fail('BAD_CALIBRATION', skipped.length === 0
      ? `the calibration folder ${calibPath} is empty. Fill it with images, or with one .npy per model input (${names}).`
      : `the calibration folder ${calibPath} holds no images and no .npy files (found ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}). Put images (JPEG, PNG, WebP, GIF, TIFF, AVIF) or one .npy per model input (${names}) in it.`);
  }

  const ext = path.extname(calibPath).toLowerCase();
  if (ext === '.npy') {
    refuseImageOptions(options, calibPath, 'is a .npy file');
    const input = singleInput(inputs, calibPath, 'a .npy file', true);
    return arraySource(calibPath, [{ input, reader: openNpy(calibPath) }], notes);
  }
  if (ext === '.npz') {
    refuseImageOptions(options, calibPath, 'is a .npz file');
    const bound = bindArrays(openNpz(calibPath), inputs, calibPath, (k) => `entry ${k}.npy`, notes);
    return arraySource(calibPath, bound, notes);
  }
  if (isImageFile(calibPath)) {
    notes.push(`${calibPath} is a single image: it serves as the only calibration sample.`);
    return imageSource([calibPath], singleInput(inputs, calibPath, 'an image'), options, calibPath, notes);
  }
  fail('BAD_CALIBRATION', `cannot tell what kind of calibration data ${calibPath} is (extension '${ext || 'none'}'). --calib takes ${FORMS}.`);
}

/** The image options given (not undefined), as their command-line flags. */
export function givenImageFlags(options: ImageOptions): string[] {
  return Object.entries(options).filter(([, v]) => v !== undefined).map(([k]) => '--' + k);
}

/** Arrays go to the model as they are: an image option given with them would silently do nothing. */
function refuseImageOptions(options: ImageOptions, calibPath: string, what: string): void {
  const given = givenImageFlags(options);
  if (given.length)
    fail('BAD_OPTION', `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to images, but ${calibPath} ${what}, which goes to the model as it is. Drop ${given.length === 1 ? 'it' : 'them'}, or preprocess the arrays yourself.`);
}

function singleInput(inputs: readonly ModelInput[], calibPath: string, what: string, arrays = false): ModelInput {
  if (inputs.length === 1) return inputs[0]!;
  const alternative = arrays
    ? `Use a .npz (numpy.savez(path, ${inputs.map((x) => `${x.name}=…`).join(', ')})) or a folder with ${inputs.map((x) => `${x.name}.npy`).join(', ')}.`
    : `Give the data as a .npz or a folder of .npy files, one per input.`;
  fail('BAD_CALIBRATION', `${calibPath} is ${what}, which feeds one input, but the model has ${inputs.length}: ${inputs.map((x) => `'${x.name}'`).join(', ')}. ${alternative}`);
}

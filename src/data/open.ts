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
import { folderSource, npySource, npzSource, singleInput } from './choose.js';
import { scanFolder } from './folder.js';
import { imageSource, type ImageOptions } from './images.js';
import { isImageFile } from './pixels.js';
import { openNpy } from './npy-file.js';
import { openNpz } from './npz.js';
import type { CalibrationSource, ModelInput } from './source.js';

/** Options of `openCalibration`: for now only the image options (arrays refuse them: they would do nothing). */
export type CalibrationOptions = ImageOptions;

const FORMS = 'a .npy or .npz file, a folder of .npy files named after the model inputs, or a folder of images';

export async function openCalibration(calibPath: string, inputs: readonly ModelInput[], options: CalibrationOptions = {}): Promise<CalibrationSource> {
  if (inputs.length === 0) fail('BAD_CALIBRATION', `the model has no inputs to feed, so ${calibPath} cannot calibrate it.`);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(calibPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail('IO', `cannot read the calibration data ${calibPath}: ${code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}. --calib takes ${FORMS}.`, e);
  }
  const notes: string[] = [];

  if (stat.isDirectory())
    return folderSource(scanFolder(calibPath), calibPath, inputs, options, (images, input, notes) => imageSource(images, input, options, calibPath, notes), notes);

  const ext = path.extname(calibPath).toLowerCase();
  if (ext === '.npy') return npySource(openNpy(calibPath), calibPath, inputs, options, notes);
  if (ext === '.npz') return npzSource(openNpz(calibPath), calibPath, inputs, options, notes);
  if (isImageFile(calibPath)) {
    notes.push(`${calibPath} is a single image: it serves as the only calibration sample.`);
    return imageSource([calibPath], singleInput(inputs, calibPath, 'an image'), options, calibPath, notes);
  }
  fail('BAD_CALIBRATION', `cannot tell what kind of calibration data ${calibPath} is (extension '${ext || 'none'}'). --calib takes ${FORMS}.`);
}

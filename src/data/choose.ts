/**
 * Which calibration source a set of files makes, wherever the files come from (a path in Node, files
 * picked in a browser): one .npy feeds one input; an .npz or a set of .npy files named after the inputs
 * feed several; images feed one image input. Shapes and dtypes are checked against the inputs here,
 * before any sample is read.
 */
import { fail } from '../errors.js';
import { arraySource, bindArrays } from './arrays.js';
import type { ArrayReader } from './npy.js';
import type { ImageOptions } from './pixels.js';
import type { CalibrationSource, ModelInput } from './source.js';

/** What a folder (or a set of picked files) holds: arrays by input name, images in order, and the rest. */
export interface CalibrationFiles<T> {
  arrays: Map<string, ArrayReader>;
  images: T[];
  /** Names of the files that are neither. */
  skipped: string[];
}

/** Turns images into a source for one input (decoding differs between Node and a browser). */
export type ImagesToSource<T> = (images: T[], input: ModelInput, notes: string[]) => CalibrationSource;

/** The image options given (not undefined), as their command-line flags. */
export function givenImageFlags(options: ImageOptions): string[] {
  return Object.entries(options).filter(([, v]) => v !== undefined).map(([k]) => '--' + k);
}

/** Arrays go to the model as they are: an image option given with them would silently do nothing. */
function refuseImageOptions(options: ImageOptions, where: string, what: string): void {
  const given = givenImageFlags(options);
  if (given.length)
    fail('BAD_OPTION', `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to images, but ${where} ${what}, which goes to the model as it is. Drop ${given.length === 1 ? 'it' : 'them'}, or preprocess the arrays yourself.`);
}

export function singleInput(inputs: readonly ModelInput[], where: string, what: string, arrays = false): ModelInput {
  if (inputs.length === 1) return inputs[0]!;
  const alternative = arrays
    ? `Use a .npz (numpy.savez(path, ${inputs.map((x) => `${x.name}=…`).join(', ')})) or a folder with ${inputs.map((x) => `${x.name}.npy`).join(', ')}.`
    : `Give the data as a .npz or a folder of .npy files, one per input.`;
  fail('BAD_CALIBRATION', `${where} is ${what}, which feeds one input, but the model has ${inputs.length}: ${inputs.map((x) => `'${x.name}'`).join(', ')}. ${alternative}`);
}

/** One .npy: the first axis is the sample axis. */
export function npySource(reader: ArrayReader, where: string, inputs: readonly ModelInput[], options: ImageOptions, notes: string[] = []): CalibrationSource {
  refuseImageOptions(options, where, 'is a .npy file');
  return arraySource(where, [{ input: singleInput(inputs, where, 'a .npy file', true), reader }], notes);
}

/** An .npz: one array per input, named after it. */
export function npzSource(arrays: Map<string, ArrayReader>, where: string, inputs: readonly ModelInput[], options: ImageOptions, notes: string[] = []): CalibrationSource {
  refuseImageOptions(options, where, 'is a .npz file');
  return arraySource(where, bindArrays(arrays, inputs, where, (k) => `entry ${k}.npy`, notes), notes);
}

/** A folder (or a set of files): .npy files named after the inputs, or images. */
export function folderSource<T>(files: CalibrationFiles<T>, where: string, inputs: readonly ModelInput[], options: ImageOptions, images: ImagesToSource<T>, notes: string[] = []): CalibrationSource {
  const { arrays, skipped } = files;
  const names = inputs.map((x) => `'${x.name}'`).join(', ');
  if (arrays.size > 0 && files.images.length > 0)
    fail('BAD_CALIBRATION', `${where} holds both .npy files and images; onnxq cannot tell which to use. Keep one kind in the folder.`);
  const note = skippedNote(where, skipped);
  if (note) notes.push(note);
  if (arrays.size > 0) {
    refuseImageOptions(options, where, 'holds .npy files');
    return arraySource(where, bindArrays(arrays, inputs, `the folder ${where}`, (k) => `${k}.npy`, notes), notes);
  }
  if (files.images.length > 0) return images(files.images, singleInput(inputs, where, 'a folder of images'), notes);
  fail('BAD_CALIBRATION', skipped.length === 0
    ? `the calibration folder ${where} is empty. Fill it with images, or with one .npy per model input (${names}).`
    : `the calibration folder ${where} holds no images and no .npy files (found ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}). Put images (JPEG, PNG, WebP, GIF, TIFF, AVIF) or one .npy per model input (${names}) in it.`);
}

/** A note about skipped files, naming a few of them. */
function skippedNote(where: string, skipped: readonly string[]): string | undefined {
  if (skipped.length === 0) return undefined;
  const shown = skipped.slice(0, 5).join(', ') + (skipped.length > 5 ? `, … (${skipped.length - 5} more)` : '');
  const bmp = skipped.some((s) => s.toLowerCase().endsWith('.bmp')) ? ' BMP is not decoded: convert those images to PNG.' : '';
  return `${where}: skipped ${skipped.length} file${skipped.length === 1 ? '' : 's'} that ${skipped.length === 1 ? 'is' : 'are'} neither an image nor a .npy: ${shown}.${bmp}`;
}

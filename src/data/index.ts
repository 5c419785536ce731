/**
 * Calibration data. source.ts (the interfaces), memory.ts, select.ts and random.ts need nothing from Node
 * and serve the browser too; the file readers (npy, npz, folders, images with sharp) are Node-only.
 * - openCalibration(path, inputs, options): a CalibrationSource from a .npy, .npz, folder of .npy or folder of images;
 * - selectSamples(count, wanted, seed): which samples calibrate and which are held out;
 * - .npy reading and writing (readNpy, writeNpy, encodeNpy, decodeNpy, openNpy), image planning and decoding.
 */
export type { CalibrationSource, HostTensor, ModelInput, Sample } from './source.js';
export { openCalibration, type CalibrationOptions } from './open.js';
export { selectSamples, DEFAULT_CALIBRATION_SAMPLES, MAX_HELD_OUT, type Selection } from './select.js';
export { createRng, permutation, type Rng } from './random.js';
export { decodeNpy, encodeNpy, openNpy, readNpy, writeNpy, parseNpyHeader, type ArrayReader, type NpyHeader } from './npy.js';
export { openNpz, INFLATE_WHOLE_LIMIT, type NpzOptions } from './npz.js';
export { arraySource, bindArrays, fileSafeName } from './arrays.js';
export { fitArray, type InputFit } from './fit.js';
export { convertElements, conversionOf } from './convert.js';
export { scanFolder, type FolderContents } from './folder.js';
export {
  imageSource,
  isImageFile,
  loadImage,
  planImages,
  IMAGE_EXTENSIONS,
  type ChannelOrder,
  type ImageLayout,
  type ImageOptions,
  type ImagePlan,
  type ResizeKernel,
  type ResizeMode,
} from './images.js';

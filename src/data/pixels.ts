/**
 * Images as model inputs, whatever decodes them (sharp in Node, the browser's own decoder in a page):
 * the options resolved against the input's shape, and RGB pixels turned into the input's tensor.
 * Each pixel becomes value = (pixel · scale − mean[c]) / std[c], with mean and std given in the
 * order of the output channels (for 'bgr', mean[0] applies to blue). Gray is
 * round(0.299 R + 0.587 G + 0.114 B) on the 8-bit pixels, as OpenCV and Pillow compute it.
 * 'fit-pad' scales the image to fit inside H×W keeping its aspect ratio, puts it at the top-left
 * and fills the rest with 0 in the normalised tensor (as PaddleOCR's recognizer pads).
 */
import { fail } from '../errors.js';
import { formatShape } from '../ir/types.js';
import { convertElements } from './convert.js';
import type { CalibrationSource, HostTensor, ModelInput } from './source.js';

export type ResizeMode = 'stretch' | 'fit-pad';
export type ImageLayout = 'nchw' | 'nhwc';
export type ChannelOrder = 'rgb' | 'bgr' | 'gray';
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

export interface ImageOptions {
  /** [height, width] of the model input. Default: the input's static H and W. */
  size?: [number, number];
  /** Default 'stretch'. */
  resize?: ResizeMode;
  /** Default: from the input's shape (a channel dim of 1 or 3 at axis 1 → 'nchw', at the last axis → 'nhwc'). */
  layout?: ImageLayout;
  /** Default 'gray' when the input has one channel, else 'rgb'. */
  channels?: ChannelOrder;
  /** Pixel multiplier. Default 1/255. */
  scale?: number;
  /** Per channel or one value for all. Default 0. */
  mean?: number | number[];
  /** Per channel or one value for all. Default 1. */
  std?: number | number[];
  /** Resampling kernel. Default 'linear' (bilinear, like OpenCV's default). */
  kernel?: ResizeKernel;
}

/** Everything needed to turn an image file into the input's tensor, resolved from the options and the input's shape. */
export interface ImagePlan {
  input: ModelInput;
  height: number;
  width: number;
  layout: ImageLayout;
  channels: ChannelOrder;
  resize: ResizeMode;
  kernel: ResizeKernel;
  scale: number;
  mean: number[];
  std: number[];
}

/** File extensions onnxq decodes (sharp's prebuilt libvips has no BMP loader; browsers decode these too). */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export function isImageFile(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > name.lastIndexOf('/') && IMAGE_EXTENSIONS.has(name.slice(dot).toLowerCase());
}

const FLOAT_INPUTS = new Set(['float32', 'float16', 'float64']);

/** Resolves the options against the input's shape; throws an OnnxqError naming the input and the option to pass. */
export function planImages(input: ModelInput, options: ImageOptions = {}): ImagePlan {
  const shape = input.shape;
  const name = `model input '${input.name}' ${input.dtype} ${formatShape(shape)}`;
  if (shape.length !== 4)
    fail('BAD_CALIBRATION', `${name} is not an image batch (an image folder feeds rank-4 inputs, [N, C, H, W] or [N, H, W, C]). Give the calibration data as .npy or .npz instead.`);
  if (typeof shape[0] === 'number' && shape[0] !== 1)
    fail('BAD_CALIBRATION', `${name} has a fixed batch of ${shape[0]}; images are fed one at a time. Give the calibration data as a .npy of shape [N, ${shape.join(', ')}] instead.`);
  if (!FLOAT_INPUTS.has(input.dtype) && input.dtype !== 'uint8')
    fail('BAD_CALIBRATION', `${name} is not an image input (images feed float or uint8 inputs). Give the calibration data as .npy or .npz instead.`);

  const isChannelDim = (d: unknown) => d === 1 || d === 3;
  let layout = options.layout;
  if (layout !== undefined && layout !== 'nchw' && layout !== 'nhwc') fail('BAD_OPTION', `--layout must be nchw or nhwc; got '${layout}'.`);
  if (layout === undefined) {
    if (isChannelDim(shape[1])) layout = 'nchw';
    else if (isChannelDim(shape[3])) layout = 'nhwc';
    else fail('BAD_OPTION', `cannot tell the channel axis of ${name}: neither axis 1 nor axis 3 is 1 or 3. Pass --layout nchw or --layout nhwc.`);
  }
  const c = layout === 'nchw' ? shape[1] : shape[3];
  const [hDim, wDim] = layout === 'nchw' ? [shape[2], shape[3]] : [shape[1], shape[2]];

  let channels = options.channels;
  if (channels !== undefined && channels !== 'rgb' && channels !== 'bgr' && channels !== 'gray')
    fail('BAD_OPTION', `--channels must be rgb, bgr or gray; got '${channels}'.`);
  channels ??= c === 1 ? 'gray' : 'rgb';
  const count = channels === 'gray' ? 1 : 3;
  if (typeof c === 'number' && c !== count)
    fail('BAD_OPTION', `${name} has ${c} channel${c === 1 ? '' : 's'} (${layout}), but --channels ${channels} gives ${count}. ${c === 1 ? 'Use --channels gray.' : c === 3 ? 'Use --channels rgb or bgr.' : 'onnxq feeds images with 1 or 3 channels.'}`);

  let height: number;
  let width: number;
  if (options.size) {
    const [h, w] = options.size;
    if (!Number.isSafeInteger(h) || !Number.isSafeInteger(w) || h < 1 || w < 1)
      fail('BAD_OPTION', `--size must be two positive integers HxW; got ${h}x${w}.`);
    if ((typeof hDim === 'number' && hDim !== h) || (typeof wDim === 'number' && wDim !== w))
      fail('BAD_OPTION', `--size ${h}x${w} does not fit ${name}, whose height×width is ${hDim ?? '?'}x${wDim ?? '?'}. Drop --size or pass --size ${typeof hDim === 'number' ? hDim : h}x${typeof wDim === 'number' ? wDim : w}.`);
    [height, width] = [h, w];
  } else if (typeof hDim === 'number' && typeof wDim === 'number') {
    [height, width] = [hDim, wDim];
  } else {
    fail('BAD_OPTION', `${name} has a free height or width, so onnxq cannot tell what size to resize images to. Pass --size HxW (e.g. --size ${typeof hDim === 'number' ? hDim : 224}x${typeof wDim === 'number' ? wDim : hDim === 48 ? 320 : 224}).`);
  }

  const resize = options.resize ?? 'stretch';
  if (resize !== 'stretch' && resize !== 'fit-pad') fail('BAD_OPTION', `--resize must be stretch or fit-pad; got '${resize}'.`);
  const kernel = options.kernel ?? 'linear';
  if (!['nearest', 'linear', 'cubic', 'lanczos3'].includes(kernel)) fail('BAD_OPTION', `--kernel must be nearest, linear, cubic or lanczos3; got '${kernel}'.`);

  if (input.dtype === 'uint8' && (options.scale !== undefined || options.mean !== undefined || options.std !== undefined))
    fail('BAD_OPTION', `${name} takes raw uint8 pixels, so --scale, --mean and --std do not apply. Drop them.`);
  const scale = options.scale ?? (input.dtype === 'uint8' ? 1 : 1 / 255);
  if (!Number.isFinite(scale)) fail('BAD_OPTION', `--scale must be a finite number; got ${scale}.`);
  const perChannel = (v: number | number[] | undefined, fallback: number, what: string): number[] => {
    const list = v === undefined ? [fallback] : typeof v === 'number' ? [v] : v;
    if (list.length !== 1 && list.length !== count)
      fail('BAD_OPTION', `--${what} needs 1 or ${count} values for ${channels} images; got ${list.length} (${list.join(', ')}).`);
    if (list.some((x) => !Number.isFinite(x))) fail('BAD_OPTION', `--${what} must be finite numbers; got ${list.join(', ')}.`);
    return list.length === 1 ? new Array<number>(count).fill(list[0]!) : [...list];
  };
  const mean = perChannel(options.mean, 0, 'mean');
  const std = perChannel(options.std, 1, 'std');
  if (std.some((s) => s === 0)) fail('BAD_OPTION', `--std must not contain 0; got ${std.join(', ')}.`);

  return { input, height, width, layout, channels, resize, kernel, scale, mean, std };
}

/** Decoded pixels: 8-bit RGB, row after row, already resized (to H×W, or to fit inside it for fit-pad). */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decodes one image (a file path, a browser File …) into RGB pixels resized as the plan says. */
export type ImageDecoder<T> = (image: T, plan: ImagePlan) => Promise<RgbPixels>;

/** The size an image of w×h is resized to: H×W, or for fit-pad the largest that fits keeping the aspect ratio. */
export function resizedSize(w: number, h: number, plan: ImagePlan): { width: number; height: number } {
  if (plan.resize === 'stretch') return { width: plan.width, height: plan.height };
  const ratio = Math.min(plan.width / w, plan.height / h);
  return { width: Math.min(plan.width, Math.max(1, Math.round(w * ratio))), height: Math.min(plan.height, Math.max(1, Math.round(h * ratio))) };
}

/** Normalises decoded pixels into the input's tensor (dims [1, C, H, W] or [1, H, W, C]); `where` names the image. */
export function pixelsToTensor({ data: pixels, width: w, height: h }: RgbPixels, plan: ImagePlan, where: string): HostTensor {
  const { height: H, width: W, layout, channels } = plan;
  const C = channels === 'gray' ? 1 : 3;
  const uint8 = plan.input.dtype === 'uint8';
  const n = C * H * W;
  const out = uint8 ? new Uint8Array(n) : plan.input.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n); // padding stays 0
  const { scale, mean, std } = plan;
  // Output channel k reads source channel SRC[k] of the RGB pixels.
  const src = channels === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 3;
      for (let k = 0; k < C; k++) {
        const v =
          channels === 'gray'
            ? Math.floor((299 * pixels[p]! + 587 * pixels[p + 1]! + 114 * pixels[p + 2]! + 500) / 1000)
            : pixels[p + src[k]!]!;
        const at = layout === 'nchw' ? (k * H + y) * W + x : (y * W + x) * C + k;
        out[at] = uint8 ? v : (v * scale - mean[k]!) / std[k]!;
      }
    }
  }
  const dims = layout === 'nchw' ? [1, C, H, W] : [1, H, W, C];
  if (plan.input.dtype === 'float16') return { dtype: 'float16', dims, data: convertElements(out, 'float32', 'float16', where) };
  return { dtype: plan.input.dtype, dims, data: out };
}

/**
 * A source over images (already listed and ordered), one sample per image, decoded in `load` by `decode`;
 * `name` names an image in messages.
 */
export function imageSourceOf<T>(
  images: readonly T[],
  name: (image: T) => string,
  decode: ImageDecoder<T>,
  input: ModelInput,
  options: ImageOptions,
  description: string,
  notes: string[] = [],
): CalibrationSource {
  const plan = planImages(input, options);
  if (images.length === 0) fail('BAD_CALIBRATION', `${description} holds no images. Put JPEG, PNG, WebP, GIF, TIFF or AVIF files in it.`);
  const count = images.length;
  return {
    description: `${description} (${count} image${count === 1 ? '' : 's'}, ${plan.channels} ${plan.layout} ${plan.height}x${plan.width}, ${plan.resize})`,
    count,
    notes,
    async load(index: number) {
      if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`sample ${index} is out of range 0..${count - 1}`);
      const image = images[index]!;
      return { [input.name]: pixelsToTensor(await decode(image, plan), plan, name(image)) };
    },
  };
}

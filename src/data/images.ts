/**
 * Images from files as calibration samples, decoded and resized with sharp (libvips) one at a time;
 * what becomes of the pixels (options, normalisation, layout) is pixels.ts, shared with the browser.
 */
import { fail } from '../errors.js';
import { imageSourceOf, type ImageOptions, type ImagePlan, type RgbPixels } from './pixels.js';
import type { CalibrationSource, ModelInput } from './source.js';

export type { ImageOptions } from './pixels.js';

/** Decodes and resizes one image file into RGB pixels. */
async function decodeWithSharp(file: string, plan: ImagePlan): Promise<RgbPixels> {
  // Loaded on first use: libvips takes a third of a second to load, which a run without images need not pay.
  const { default: sharp } = await import('sharp');
  try {
    const { data, info } = await sharp(file)
      .autoOrient()
      .removeAlpha()
      .toColourspace('srgb')
      .resize(plan.width, plan.height, { fit: plan.resize === 'stretch' ? 'fill' : 'inside', kernel: plan.kernel })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels instead of 3`);
    return { data, width: info.width, height: info.height };
  } catch (e) {
    fail('BAD_CALIBRATION', `cannot decode image ${file}: ${(e as Error).message.split('\n')[0]}. Remove or replace the file (onnxq reads JPEG, PNG, WebP, GIF, TIFF and AVIF).`, e);
  }
}

/** A source over image files (already listed and ordered), one sample per image, decoded in `load`. */
export function imageSource(files: readonly string[], input: ModelInput, options: ImageOptions, description: string, notes: string[] = []): CalibrationSource {
  return imageSourceOf(files, (f) => f, decodeWithSharp, input, options, description, notes);
}

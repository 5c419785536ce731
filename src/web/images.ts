/**
 * Images decoded by the browser itself: createImageBitmap decodes and resizes (honouring the EXIF
 * orientation, as sharp's autoOrient does), an OffscreenCanvas gives the pixels, and data/pixels.ts
 * turns them into the input's tensor with the same options as the command line's image folders.
 * The resampling is the browser's, so pixel values can differ slightly from sharp's; arrays (.npy)
 * give the same samples in both.
 */
import { fail } from '../errors.js';
import { resizedSize, type ImagePlan, type RgbPixels } from '../data/pixels.js';

/** The browser's resize quality closest to each kernel. */
const QUALITY: Record<ImagePlan['kernel'], ResizeQuality> = { nearest: 'pixelated', linear: 'low', cubic: 'medium', lanczos3: 'high' };

export async function decodeInBrowser(file: File, plan: ImagePlan): Promise<RgbPixels> {
  let bitmap: ImageBitmap;
  try {
    // fit-pad needs the image's own size to keep its aspect ratio: decoded once more to learn it.
    let size = { width: plan.width, height: plan.height };
    if (plan.resize === 'fit-pad') {
      const full = await createImageBitmap(file);
      size = resizedSize(full.width, full.height, plan);
      full.close();
    }
    const { width, height } = size;
    bitmap = await createImageBitmap(file, { resizeWidth: width, resizeHeight: height, resizeQuality: QUALITY[plan.kernel] });
  } catch (e) {
    fail('BAD_CALIBRATION', `cannot decode image ${file.name}: ${(e as Error).message}. Remove or replace the file (JPEG, PNG, WebP, GIF or AVIF).`, e);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d')!;
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { data: rgb, width, height };
}

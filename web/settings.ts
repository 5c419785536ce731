/**
 * The page's choices as the library's options, given exactly as `onnxq quantize` gives them for the
 * same flags: the command line's defaulted flags (--method minmax, --target ort-qdq) always, the others
 * only where the user changed them. The options shape the model's metadata (onnxq.options), so the
 * same choices make the same bytes from the page and from the command line.
 */
import type { ImageOptions, OfflineOptions, QuantizeOptions } from '../src/web/index.js';
import type { MethodName } from '../src/refine/methods.js';
import type { StudioSettings } from './messages.js';

/** `image` goes with them as quantizeFile passes it: the image options shape the samples, so the metadata records them. */
export function staticOptions(s: StudioSettings): QuantizeOptions & { image: ImageOptions } {
  const all = s.method === 'all';
  return {
    method: all ? undefined : (s.method as MethodName),
    ...(all ? { compareMethods: true } : {}),
    target: s.target,
    ...(s.perChannel ? {} : { perChannel: false }),
    ...(s.symmetric ? { symmetric: true } : {}),
    ...(s.calibSamples !== undefined ? { calibSamples: s.calibSamples } : {}),
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    image: s.image,
    tensorrtCache: s.calibCache,
  };
}

export function offlineOptions(s: StudioSettings): OfflineOptions & { image: ImageOptions } {
  const mode = s.mode === 'static' ? 'dynamic' : s.mode;
  return {
    mode,
    target: s.target,
    ...(mode !== 'fp16' && !s.perChannel ? { perChannel: false } : {}),
    ...(mode === 'weight-only' && s.symmetric ? { symmetric: true } : {}),
    ...(mode === 'weight-only' && s.bits !== undefined ? { bits: s.bits } : {}),
    ...(mode === 'weight-only' && s.blockSize !== undefined ? { blockSize: s.blockSize } : {}),
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    image: s.image,
  };
}

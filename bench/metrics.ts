/**
 * Quality measures of the bench beyond onnxq's own (src/analyze/metrics.ts: SQNR, cosine, argmax;
 * demo/paddle-tasks.ts: edit distance): PSNR of two images in [0, 1].
 */

/** PSNR in dB of two images with values in [0, 1] (both clipped to it first), peak 1. */
export function psnr(a: Float32Array, b: Float32Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.min(1, Math.max(0, a[i]!)) - Math.min(1, Math.max(0, b[i]!));
    se += d * d;
  }
  return se === 0 ? Infinity : 10 * Math.log10(a.length / se);
}

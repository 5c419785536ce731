/**
 * How large a model the page takes. A browser holds a picked file as one ArrayBuffer, protobuf cannot
 * decode a message past 2 GiB, and onnxruntime-web runs in 32-bit WebAssembly, whose memory stops at
 * 4 GiB: the float model's weights sit there while it calibrates (once more, with the probes that
 * read its tensors) and then beside the quantized model's while they are compared. A quarter of that
 * leaves room for the copies; past it, the command line (onnxruntime-node, weights read from disk) is
 * the tool.
 */
import { fail } from '../errors.js';
import { formatBytes } from '../cli/format.js';

export const MAX_MODEL_BYTES = 2 ** 30;

/** Refuses a model (with its external data) the page cannot hold, saying what it takes and what to use instead. */
export function checkModelSize(name: string, bytes: number): void {
  if (bytes > MAX_MODEL_BYTES)
    fail(
      'BAD_MODEL',
      `${name} is ${formatBytes(bytes)} with its data; the page takes models up to ${formatBytes(MAX_MODEL_BYTES)} (onnxruntime-web's WebAssembly memory stops at 4 GiB and holds the model more than once while quantizing). ` +
        `Quantize it with the command line, which reads weights from disk: npx onnxq quantize ${name} -o out.onnx --calib <data>.`,
    );
}

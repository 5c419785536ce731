/**
 * Drops graph inputs that merely name an initializer. IR version 3 required every initializer to be
 * listed as an input too, and PyTorch's `keep_initializers_as_inputs` still does it; ONNX then reads
 * them as overridable defaults, so the weights would not count as constants and could be neither
 * folded nor quantized. onnxq treats them as the constants they are, as ORT's quantizer does. The
 * inputs a user feeds (the ones without an initializer) are left as they were.
 */
import type { Graph } from '../ir/graph.js';

export function initializersNotInputs(graph: Graph): number {
  let dropped = 0;
  for (const v of graph.proto.input)
    if (graph.initializer(v.name) && graph.isGraphInput(v.name)) {
      graph.removeInput(v.name);
      dropped++;
    }
  return dropped;
}

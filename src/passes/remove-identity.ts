/**
 * Removes Identity nodes and inference-time Dropout (an identity when its mask output is unused),
 * keeping every graph input and output name as it was.
 */
import type { NodeProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { isStandard } from '../ir/node.js';
import { readTensor } from '../onnx/tensor.js';

/** Dropout's training_mode input (opset 12+), when it is a constant true, makes it random: keep it. */
function training(graph: Graph, node: NodeProto): boolean {
  const name = node.input[2];
  if (!name) return false;
  const t = graph.constant(name);
  return !t || readTensor(t).data[0] !== 0;
}

export function removeIdentities(graph: Graph): number {
  let removed = 0;
  for (const node of [...graph.nodes]) {
    const isDropout = node.opType === 'Dropout' && !(node.output[1] && graph.consumers(node.output[1]).length) && !training(graph, node);
    if ((node.opType !== 'Identity' && !isDropout) || !isStandard(node)) continue;
    const x = node.input[0]!;
    const y = node.output[0]!;
    if (!graph.isGraphOutput(y)) {
      graph.removeNode(node);
      graph.replaceUses(y, x);
    } else {
      // y must keep its name: let x's producer write y instead, when x is an ordinary intermediate.
      const producer = graph.producer(x);
      if (!producer || graph.isGraphOutput(x) || graph.isGraphInput(x)) continue;
      graph.removeNode(node);
      graph.setOutput(producer, producer.output.indexOf(x), y);
      graph.replaceUses(x, y);
    }
    removed++;
  }
  return removed;
}

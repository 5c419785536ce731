/**
 * BatchNormalization 7 → 9 → 14 (ONNX Changelog, BatchNormalization-9 and -14). 9 dropped `spatial`:
 * spatial=1 is the only behaviour left, and a spatial=0 node (statistics per C×D1×…×Dn element) is
 * rebuilt as Flatten → BatchNormalization on [N, C·D1·…·Dn] → Reshape, as the -9 spec suggests.
 * 14 replaced "training mode when the optional outputs are present" by `training_mode`: a node with
 * extra outputs becomes training_mode=1 with outputs (Y, running_mean, running_var); saved_mean and
 * saved_var no longer exist. (onnxruntime also runs a -9 node with extra outputs in training mode.)
 */
import type { NodeProto } from 'onnx-buf';
import { attrInt, removeAttr, setAttr } from '../../ir/node.js';
import { readTensor } from '../../onnx/tensor.js';
import type { AdapterResult, Cx } from './context.js';

export function batchnorm9(node: NodeProto, cx: Cx): AdapterResult {
  const spatial = attrInt(node, 'spatial');
  removeAttr(node, 'spatial');
  if (spatial !== 0) return spatial === undefined ? 'same' : undefined;
  if (trimOutputs(node).length > 1) cx.refuse('it is a non-spatial node in training mode (it has the optional statistics outputs)');
  const stem = cx.label(node);
  const [x = '', ...params] = node.input;
  const y = node.output[0] ?? '';
  const shape = cx.fresh(`${stem}_shape`);
  const flat = cx.fresh(`${stem}_2d`);
  const out2d = cx.fresh(`${stem}_out2d`);
  const before = [
    cx.node(`${stem}_shape`, { opType: 'Shape', inputs: [x], outputs: [shape] }),
    cx.node(`${stem}_flatten`, { opType: 'Flatten', inputs: [x], outputs: [flat], attrs: { axis: 1 } }),
  ];
  const flatParams = params.map((p, i) => {
    const t = cx.constant(p);
    if (t) {
      const { dtype, data } = readTensor(t);
      return cx.addConstant(`${p}_flat`, dtype, [data.length], data);
    }
    const out = cx.fresh(`${p}_flat`);
    before.push(cx.node(`${stem}_param${i}_flat`, { opType: 'Reshape', inputs: [p, cx.int64s('minus_one', [-1])], outputs: [out] }));
    return out;
  });
  node.input = [flat, ...flatParams];
  node.output = [out2d];
  const reshape = cx.node(`${stem}_reshape`, { opType: 'Reshape', inputs: [out2d, shape], outputs: [y] });
  return [...before, node, reshape];
}

export function batchnorm14(node: NodeProto, cx: Cx): AdapterResult {
  const before = node.output.length;
  const outputs = trimOutputs(node);
  if (outputs.length <= 1) return outputs.length === before ? 'same' : undefined;
  const saved = outputs.slice(3).filter((o) => o && cx.isRead(o));
  if (saved.length)
    cx.refuse(`its saved_mean/saved_var outputs (${saved.join(', ')}) are used, and BatchNormalization-14 no longer has them`);
  node.output = outputs.slice(0, 3);
  setAttr(node, 'training_mode', 1);
}

/** Drops trailing unnamed outputs (absent optional outputs), which some runtimes mistake for present ones. */
function trimOutputs(node: NodeProto): string[] {
  let n = node.output.length;
  while (n > 1 && !node.output[n - 1]) n--;
  node.output = node.output.slice(0, n);
  return node.output;
}

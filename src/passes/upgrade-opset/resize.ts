/**
 * Upsample and Resize across opsets 9–13 (ONNX Changelog: Upsample-9, Upsample-10 deprecated,
 * Resize-10, Resize-11, Resize-13). Upsample-7's `scales` attribute becomes an input (9); Upsample
 * becomes Resize-10 with the same inputs (10); Resize-10 (X, scales) becomes Resize-11 (X, roi, scales)
 * with coordinate_transformation_mode 'asymmetric' (x_in = x_out / scale, the only mapping 10 had).
 * Nearest rounding: onnxruntime runs opset ≤ 10 nearest as floor when upsampling and ceil when
 * downsampling (upsamplebase.h, "SIMPLE"), an axis of scale 1 being copied; so nearest_mode is
 * 'floor' when every scale is ≥ 1 and 'ceil' when every scale is ≤ 1.
 */
import type { NodeProto } from 'onnx-buf';
import { attrFloats, attrString, removeAttr, setAttr } from '../../ir/node.js';
import { DT } from '../../onnx/dtype.js';
import { readFloat32 } from '../../onnx/tensor.js';
import type { AdapterResult, Cx } from './context.js';

/** Upsample-7 → 9: `scales` moves from an attribute to a float input. */
export function upsample9(node: NodeProto, cx: Cx): AdapterResult {
  const scales = attrFloats(node, 'scales');
  if (!scales) cx.refuse('Upsample-7 needs the scales attribute, and this node lacks it');
  node.input = [node.input[0] ?? '', cx.floats(`${cx.label(node)}_scales`, scales)];
  removeAttr(node, 'scales');
}

/** Upsample-9 → Resize-10: same inputs and modes under the new name. */
export function upsampleToResize(node: NodeProto): AdapterResult {
  node.opType = 'Resize';
  const mode = attrString(node, 'mode', 'nearest');
  setAttr(node, 'mode', mode === 'bilinear' ? 'linear' : mode);
  return [node];
}

/** Resize-10 → 11: (X, scales) becomes (X, roi, scales), keeping Resize-10's coordinate mapping. */
export function resize11(node: NodeProto, cx: Cx): AdapterResult {
  const [x = '', scales = ''] = node.input;
  const mode = attrString(node, 'mode', 'nearest');
  const roi = cx.addConstant('roi_empty', DT.FLOAT, [0], new Float32Array(0));
  node.input = [x, roi, scales];
  setAttr(node, 'coordinate_transformation_mode', 'asymmetric');
  if (mode === 'nearest') setAttr(node, 'nearest_mode', nearestMode(scales, cx));
}

function nearestMode(scales: string, cx: Cx): string {
  const t = cx.constant(scales);
  // Scales computed at run time: Upsample (and almost every Resize-10) only enlarges, which is floor.
  if (!t) return 'floor';
  const values = readFloat32(t);
  if (values.every((s) => s >= 1)) return 'floor';
  if (values.every((s) => s <= 1)) return 'ceil';
  cx.refuse(
    `its scales [${Array.from(values).join(', ')}] enlarge some axes and shrink others; Resize-10 rounds those ` +
      'differently (floor and ceil), which no single Resize-11 nearest_mode reproduces',
  );
}

/** Resize-11 → 13: compatible except that 'tf_half_pixel_for_nn' was removed. */
export function resize13(node: NodeProto, cx: Cx): AdapterResult {
  if (attrString(node, 'coordinate_transformation_mode') === 'tf_half_pixel_for_nn')
    cx.refuse("coordinate_transformation_mode 'tf_half_pixel_for_nn' no longer exists in Resize-13");
  return 'same';
}

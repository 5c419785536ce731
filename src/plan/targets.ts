/**
 * Targets as data: who runs the quantized model, the rules it follows and the options it forces.
 */
import { fail } from '../errors.js';
import type { QuantType } from '../quant/spec.js';
import type { TargetName } from './plan.js';
import { ORT_QDQ_RULES, TENSORRT_RULES, type OpRule } from './rules.js';

export interface Target {
  name: TargetName;
  description: string;
  rules: Record<string, OpRule>;
  /** One Q/DQ pair per consumer input instead of one per tensor. */
  dedicatedPairs: boolean;
  /** Zero point 0 everywhere. */
  symmetricOnly: boolean;
  activationTypes: readonly QuantType[];
  weightTypes: readonly QuantType[];
  defaultActivationType: QuantType;
  /** Relu/Clip folded into their producer's range (exact only with an asymmetric, zero point at qmin, range). */
  foldsActivations: boolean;
}

export const TARGETS: Record<TargetName, Target> = {
  'ort-qdq': {
    name: 'ort-qdq',
    description: 'ONNX Runtime, QDQ format, placed so that ORT fuses integer kernels',
    rules: ORT_QDQ_RULES,
    dedicatedPairs: false,
    symmetricOnly: false,
    activationTypes: ['uint8', 'int8', 'uint16', 'int16', 'uint4', 'int4'],
    weightTypes: ['int8', 'uint8', 'int16', 'uint16', 'int4', 'uint4'],
    defaultActivationType: 'uint8',
    foldsActivations: true,
  },
  tensorrt: {
    name: 'tensorrt',
    description: 'TensorRT explicit quantization: symmetric int8 Q/DQ on the inputs of Conv, Gemm, MatMul and residual Add',
    rules: TENSORRT_RULES,
    dedicatedPairs: true,
    symmetricOnly: true,
    activationTypes: ['int8'],
    weightTypes: ['int8', 'int4'],
    defaultActivationType: 'int8',
    foldsActivations: false,
  },
};

export function getTarget(name: string): Target {
  const t = TARGETS[name as TargetName];
  if (!t) fail('BAD_OPTION', `unknown target '${name}'. Choose one of: ${Object.keys(TARGETS).join(', ')}.`);
  return t;
}

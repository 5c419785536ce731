/**
 * Methods that refine ranges after calibration: each starts from a range method's ranges and then
 * searches. They are method names beside the range methods (`--method eq`) without being range
 * methods themselves: calibration gathers what their starting method needs.
 */
import { RANGE_METHOD_NAMES, type RangeMethodName } from '../calibrate/observer.js';

export const REFINE_METHOD_NAMES = ['eq'] as const;
export type RefineMethodName = (typeof REFINE_METHOD_NAMES)[number];

/** Every name `--method` takes. */
export const METHOD_NAMES = [...RANGE_METHOD_NAMES, ...REFINE_METHOD_NAMES] as const;
export type MethodName = RangeMethodName | RefineMethodName;

/** The range method a refinement starts from: EasyQuant from entropy (KL), as ncnn and the paper do. */
const STARTS_FROM: Record<RefineMethodName, RangeMethodName> = { eq: 'entropy' };

export function isRefineMethod(m: MethodName | undefined): m is RefineMethodName {
  return m !== undefined && (REFINE_METHOD_NAMES as readonly string[]).includes(m);
}

/** The range method whose statistics and ranges `m` needs. */
export function rangeMethodOf(m: MethodName): RangeMethodName {
  return isRefineMethod(m) ? STARTS_FROM[m] : m;
}

/**
 * Methods that refine ranges after calibration: each starts from a range method's ranges and then
 * searches. They are method names beside the range methods (`--method eq`) without being range
 * methods themselves: calibration gathers what their starting method needs.
 */
import { RANGE_METHOD_NAMES, type RangeMethodName } from '../calibrate/observer.js';

export const REFINE_METHOD_NAMES = ['eq', 'adaround'] as const;
export type RefineMethodName = (typeof REFINE_METHOD_NAMES)[number];

/** Every name `--method` takes. */
export const METHOD_NAMES = [...RANGE_METHOD_NAMES, ...REFINE_METHOD_NAMES] as const;
export type MethodName = RangeMethodName | RefineMethodName;

/**
 * What `--method all` compares: every method but AdaRound, which trains each layer for hundreds of
 * steps (minutes on a small CNN, an hour or more on a 50-layer model at 2 cores) and is asked for by name.
 */
export const COMPARED_METHODS: readonly MethodName[] = METHOD_NAMES.filter((m) => m !== 'adaround');

/**
 * The range method a refinement starts from: EasyQuant from entropy (KL), as ncnn and the paper do;
 * AdaRound from minmax, so that it differs from round to nearest only in the weights' rounding.
 */
const STARTS_FROM: Record<RefineMethodName, RangeMethodName> = { eq: 'entropy', adaround: 'minmax' };

export function isRefineMethod(m: MethodName | undefined): m is RefineMethodName {
  return m !== undefined && (REFINE_METHOD_NAMES as readonly string[]).includes(m);
}

/** The range method whose statistics and ranges `m` needs. */
export function rangeMethodOf(m: MethodName): RangeMethodName {
  return isRefineMethod(m) ? STARTS_FROM[m] : m;
}

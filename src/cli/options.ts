/** Parsing of option values the CLI takes as text, with errors that show the expected form. */
import { fail } from '../errors.js';
import type { ImageOptions } from '../data/images.js';
import type { OfflineMode } from '../offline.js';
import type { PlanOptions } from '../plan/build.js';
import type { MethodName } from '../refine/methods.js';

export function parseInteger(flag: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) fail('BAD_OPTION', `${flag} takes an integer ≥ ${min}, not '${v}'.`);
    return n;
  };
}

export function parseNumber(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) fail('BAD_OPTION', `${flag} takes a number, not '${v}'.`);
    return n;
  };
}

/** "0.5" or "0.485,0.456,0.406". */
export function parseNumbers(flag: string) {
  return (v: string): number | number[] => {
    const parts = v.split(',').map((s) => Number(s.trim()));
    if (parts.length === 0 || parts.some((n) => !Number.isFinite(n))) fail('BAD_OPTION', `${flag} takes a number or comma-separated numbers (e.g. 0.485,0.456,0.406), not '${v}'.`);
    return parts.length === 1 ? parts[0]! : parts;
  };
}

/** "48x320" → [48, 320]. */
export function parseSize(v: string): [number, number] {
  const m = /^(\d+)[xX×,](\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) fail('BAD_OPTION', `--size takes HEIGHTxWIDTH, e.g. 48x320, not '${v}'.`);
  return [Number(m[1]), Number(m[2])];
}

/** "x=1,3,48,320", repeatable; collected into a record. */
export function collectShape(v: string, previous: Record<string, number[]> = {}): Record<string, number[]> {
  const m = /^(.+)=([\d,\s]+)$/.exec(v.trim());
  const dims = m ? m[2]!.split(',').map((s) => Number(s.trim())) : [];
  if (!m || dims.some((d) => !Number.isInteger(d) || d < 1))
    fail('BAD_OPTION', `--input-shape takes NAME=D0,D1,… with positive integers, e.g. x=1,3,48,320; got '${v}'.`);
  return { ...previous, [m[1]!]: dims };
}

/** "a,b" repeatable → ['a', 'b', …]. */
export function collectList(v: string, previous: string[] = []): string[] {
  return [...previous, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function oneOf<T extends string>(flag: string, choices: readonly T[]) {
  return (v: string): T => {
    if (!choices.includes(v as T)) fail('BAD_OPTION', `${flag} takes one of ${choices.join(', ')}, not '${v}'.`);
    return v as T;
  };
}

/** "sr=16000", repeatable; collected into a record. */
export function collectValue(v: string, previous: Record<string, number> = {}): Record<string, number> {
  const m = /^(.+)=(-?[\d.]+)$/.exec(v.trim());
  if (!m || !Number.isFinite(Number(m[2]))) fail('BAD_OPTION', `--input-value takes NAME=NUMBER, e.g. sr=16000; got '${v}'.`);
  return { ...previous, [m[1]!]: Number(m[2]) };
}

/** How data given with --calib is read (every command that takes data). */
export interface DataCliOptions {
  inputShape?: Record<string, number[]>;
  size?: [number, number];
  resize?: 'stretch' | 'fit-pad';
  layout?: 'nchw' | 'nhwc';
  channels?: 'rgb' | 'bgr' | 'gray';
  mean?: number | number[];
  std?: number | number[];
  scale?: number;
}

/** What commander hands over: the plan options under their own names, and the file and image options. */
export interface QuantizeCliOptions extends Omit<PlanOptions, 'weightMethod' | 'weightType' | 'method'>, DataCliOptions {
  method?: MethodName | 'all';
  eqSteps?: number;
  eqSamples?: number;
  reconstruct?: 'layer' | 'block';
  adaroundIters?: number;
  adaroundSamples?: number;
  output: string;
  mode?: 'static' | OfflineMode;
  calib?: string;
  weightMethod?: 'minmax' | 'admm' | 'rtn' | 'hqq';
  weightType?: PlanOptions['weightType'];
  percentile?: number;
  calibSamples?: number;
  seed?: number;
  threads?: number;
  batchSize?: number;
  plan?: string;
  savePlan?: string;
  saveRanges?: string;
  calibCache?: string;
  trtVersion?: string;
  externalData?: boolean;
  validate?: boolean;
  json?: boolean;
  bits?: number;
  blockSize?: number;
  format?: 'matmulnbits' | 'qdq';
  accuracyLevel?: number;
  quantizeEmbeddings?: boolean;
  keepIoTypes?: boolean;
  inputValue?: Record<string, number>;
  force?: boolean;
  weightBits?: number;
  activationBits?: number;
  equalize?: boolean;
  biasCorrection?: boolean;
  minSqnr?: number;
  maxSqnrDrop?: number;
  minTop1?: number;
  report?: string;
}

/** The image preprocessing flags, as the calibration readers take them. */
export function imageOptions(o: DataCliOptions): ImageOptions {
  return { size: o.size, resize: o.resize, layout: o.layout, channels: o.channels, mean: o.mean, std: o.std, scale: o.scale };
}

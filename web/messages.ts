/** What the studio page and its worker say to each other (structured-cloned: Files, strings, numbers, bytes). */
import type { InspectReport, ModelInput, OfflineMode, ValidationReport, ImageOptions } from '../src/web/index.js';

export type StudioMode = 'static' | OfflineMode;

/** The choices on the page, with the command line's defaults where left alone (see settings.ts). */
export interface StudioSettings {
  mode: StudioMode;
  /** Static: a range method, 'eq', or 'all'. */
  method: string;
  target: 'ort-qdq' | 'tensorrt';
  perChannel: boolean;
  symmetric: boolean;
  calibSamples?: number;
  seed?: number;
  /** Weight-only. */
  bits?: number;
  blockSize?: number;
  image: ImageOptions;
  /** Side files to offer beside the model. */
  savePlan: boolean;
  saveRanges: boolean;
  calibCache: boolean;
  report: boolean;
  backend: 'wasm' | 'webgpu';
}

/** Omit over each member of a union (a message without its id). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Every job carries an id, and so does every reply: the page listens to its latest job only. */
export type ToWorker = { id: number } & (
  | { type: 'inspect'; model: File; data: File[] }
  | { type: 'quantize'; model: File; data: File[]; calib: File[]; settings: StudioSettings }
);

/** A file the page offers for download once the whole run has succeeded. */
export interface OutputFile {
  name: string;
  label: string;
  type: string;
  bytes: Uint8Array;
}

export interface StudioSummary {
  mode: StudioMode;
  bytes: { input: number; output: number };
  samples?: { calibration: number; heldOut: number };
  validatedOn?: string;
  validation?: ValidationReport;
  float: { op: string; node: string; reason: string }[];
  warnings: string[];
  notes: string[];
  ms: number;
}

export type FromWorker = { id: number } & (
  | { type: 'inspected'; report: InspectReport; inputs: ModelInput[] }
  | { type: 'progress'; phase: string; done: number; total: number }
  | { type: 'done'; files: OutputFile[]; summary: StudioSummary; reportHtml?: string }
  | { type: 'error'; message: string; code?: string }
);

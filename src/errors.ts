/**
 * Every failure a user can cause or meet is an OnnxqError: a stable `code` for programs and a
 * message that says what was wrong, where (file, node, tensor) and what to do about it.
 * The CLI prints the message alone, without a stack trace.
 */
export type ErrorCode =
  | 'BAD_MODEL' // not ONNX, truncated, inconsistent
  | 'EXTERNAL_DATA' // missing or unsafe external data
  | 'UNSUPPORTED_OP' // an op the converter or runtime cannot handle
  | 'BAD_OPTION' // option value out of range or contradictory
  | 'BAD_CALIBRATION' // calibration data missing, empty, of the wrong shape or dtype
  | 'BAD_PLAN' // a --plan file that does not fit the model
  | 'IO' // reading or writing a file failed
  | 'RUNTIME'; // onnxruntime refused or failed to run a model

export class OnnxqError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OnnxqError';
    this.code = code;
  }
}

export function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new OnnxqError(code, message, cause === undefined ? undefined : { cause });
}

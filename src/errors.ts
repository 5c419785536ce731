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
    super(printable(message), options);
    this.name = 'OnnxqError';
    this.code = code;
  }
}

export function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new OnnxqError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * Characters a terminal acts on rather than shows: C0 controls (newline and escape among them), DEL, the
 * C1 controls (U+009B is a one-character CSI), and the bidirectional overrides and isolates, which
 * reorder what follows them on the line.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * One line of text safe for a terminal: every character of UNPRINTABLE written as an escape. Everything
 * printed that may hold text from a file (names of nodes, tensors, producers) goes through it, every
 * OnnxqError's message too (they quote such names), so that a model cannot clear the screen or forge a
 * line of output, and every error stays one line.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

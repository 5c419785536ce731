/** onnxq's version, recorded in every model it writes. Kept in step with package.json by a test. */
export const VERSION = '0.1.0';

/**
 * Temporary folders for tests, all under one root per `npm test` run that the global teardown
 * removes (test/helpers/temp-root.ts), so repeated runs leave nothing in the system's temp folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(prefix = 'onnxq-'): string {
  return fs.mkdtempSync(path.join(process.env.ONNXQ_TEST_TMP ?? os.tmpdir(), prefix));
}

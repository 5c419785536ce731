/** Vitest global setup: one temporary root for the whole run (test workers inherit the variable), removed at the end. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-test-'));
  process.env.ONNXQ_TEST_TMP = root;
  return () => fs.rmSync(root, { recursive: true, force: true });
}

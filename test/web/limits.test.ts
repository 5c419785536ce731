/** The page's size limit: a model past it is refused with what the page takes and the command to use instead. */
import { describe, it } from 'vitest';
import { checkModelSize, MAX_MODEL_BYTES } from '../../src/web/limits.js';
import { expectError } from '../data/fixtures.js';

describe('the page size limit', () => {
  it('takes a model up to 1 GiB and refuses a larger one, pointing at the CLI', async () => {
    checkModelSize('small.onnx', MAX_MODEL_BYTES);
    await expectError(() => checkModelSize('llm.onnx', 3 * 2 ** 30), 'BAD_MODEL', 'llm.onnx is 3.00 GiB', 'up to 1.00 GiB', 'npx onnxq quantize llm.onnx');
  });
});

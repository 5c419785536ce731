/**
 * Value types: declared ones (value_info, outputs) are taken when complete and consistent with the
 * sample; every other value is taken from onnxruntime's shape inference on a session that exposes
 * it, or, where that leaves a shape open, measured by one run.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DT } from '../src/onnx/dtype.js';
import { makeValueInfo } from '../src/ir/types.js';
import { measureValueTypes } from '../src/runtime/value-types.js';
import { Runner } from '../src/runtime/runner.js';
import { buildModel, randomSamples, randomWeight } from './helpers/build.js';

const spec = {
  inputs: [{ name: 'x', dims: [1, 4] }],
  outputs: [{ name: 'y', dims: [1, 3] }],
  initializers: [randomWeight('w', [4, 3], 1)],
  nodes: [
    { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
    { opType: 'Shape', inputs: ['h'], outputs: ['s'] },
    { opType: 'Relu', inputs: ['h'], outputs: ['y'] },
  ],
};
const sample = randomSamples('x', [1, 4], 1)[0]!;

describe('measureValueTypes', () => {
  afterEach(() => vi.restoreAllMocks());

  it('takes what the model does not declare from onnxruntime\'s inference, for the sample\'s shapes, without a run', async () => {
    const run = vi.spyOn(Runner.prototype, 'run');
    // x declared [batch, 4]: redeclared [1, 4] for the session, so that every shape is settled.
    const model = buildModel({ ...spec, inputs: [{ name: 'x', dims: ['batch', 4] }], outputs: [{ name: 'y', dims: ['batch', 3] }] });
    const types = await measureValueTypes(model, sample);
    expect(run).not.toHaveBeenCalled();
    expect(types.get('h')).toEqual({ dtype: DT.FLOAT, shape: [1, 3] });
    expect(types.get('s')).toEqual({ dtype: DT.INT64, shape: [2] });
    expect(types.get('y')).toEqual({ dtype: DT.FLOAT, shape: [1, 3] });
  });

  it('runs the model once for the values whose shape depends on the data, fetching only those', async () => {
    const run = vi.spyOn(Runner.prototype, 'run');
    const model = buildModel({ ...spec, outputs: [{ name: 'nz', dims: [2, 'n'], dtype: DT.INT64 }], nodes: [...spec.nodes, { opType: 'NonZero', inputs: ['y'], outputs: ['nz'] }] });
    const types = await measureValueTypes(model, sample);
    expect(run).toHaveBeenCalledTimes(1);
    expect(run.mock.calls[0]![1]).toEqual(['nz']);
    // y = Relu(x·w) is [1, 3]: NonZero gives [2, k], k the count of positive values of y.
    const k = types.get('nz')!.shape[1] as number;
    expect(types.get('nz')).toEqual({ dtype: DT.INT64, shape: [2, k] });
    expect(k).toBeGreaterThanOrEqual(0);
    expect(k).toBeLessThanOrEqual(3);
    expect(types.get('h')).toEqual({ dtype: DT.FLOAT, shape: [1, 3] });
  });

  it('measures what the model does not declare', async () => {
    const types = await measureValueTypes(buildModel(spec), sample);
    expect(types.get('h')).toEqual({ dtype: DT.FLOAT, shape: [1, 3] });
    expect(types.get('s')).toEqual({ dtype: DT.INT64, shape: [2] });
    expect(types.get('y')).toEqual({ dtype: DT.FLOAT, shape: [1, 3] });
    expect(types.get('x')).toEqual({ dtype: DT.FLOAT, shape: [1, 4] });
  });

  it('takes complete declarations without running the model', async () => {
    const model = buildModel(spec);
    model.graph!.valueInfo.push(makeValueInfo('h', { dtype: DT.FLOAT, shape: [1, 3] }), makeValueInfo('s', { dtype: DT.INT64, shape: [2] }));
    // A sample the model cannot run (wrong element type): every value is declared, so no run happens.
    const unrunnable = { x: { dtype: 'float32', dims: [1, 4], data: new Float64Array(4) } };
    const types = await measureValueTypes(model, unrunnable as never);
    expect(types.get('s')).toEqual({ dtype: DT.INT64, shape: [2] });
    expect(types.get('y')).toEqual({ dtype: DT.FLOAT, shape: [1, 3] });
  });

  it('ignores every declaration when an input is declared with a free dimension or another type than the sample has', async () => {
    // With x declared [batch, 4], a declared [2, 3] may hold for batch 2 but not for this sample's batch 1.
    const model = buildModel({ ...spec, inputs: [{ name: 'x', dims: ['batch', 4] }], outputs: [{ name: 'y', dims: ['batch', 3] }] });
    model.graph!.valueInfo.push(makeValueInfo('h', { dtype: DT.FLOAT, shape: [2, 3] }));
    const types = await measureValueTypes(model, sample);
    expect(types.get('h')).toEqual({ dtype: DT.FLOAT, shape: [1, 3] });
    expect(types.get('y')).toEqual({ dtype: DT.FLOAT, shape: [1, 3] });
    // x declared float64 while the sample is float32: nothing declared is trusted, and the run says which is which.
    const retyped = buildModel(spec);
    retyped.graph!.input[0] = makeValueInfo('x', { dtype: DT.DOUBLE, shape: [1, 4] });
    retyped.graph!.valueInfo.push(makeValueInfo('h', { dtype: DT.FLOAT, shape: [7, 7] }));
    await expect(measureValueTypes(retyped, sample)).rejects.toThrow(/onnxruntime/);
  });

  it('takes only complete declarations: an intermediate with a free dimension is measured', async () => {
    const model = buildModel(spec);
    model.graph!.valueInfo.push(makeValueInfo('h', { dtype: DT.FLOAT, shape: ['n', 3] }), makeValueInfo('s', { dtype: DT.INT64, shape: [2] }));
    const types = await measureValueTypes(model, sample);
    expect(types.get('h')).toEqual({ dtype: DT.FLOAT, shape: [1, 3] });
    expect(types.get('s')).toEqual({ dtype: DT.INT64, shape: [2] });
  });
});

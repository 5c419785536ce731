/**
 * Graph (src/ir/graph.ts) and Scope: the producer/consumer index, topological sort and its cycle
 * error, and each edit the class offers, checked on the resulting GraphProto and, where the edit
 * should leave a valid model, by running it in onnxruntime.
 */
import { clone } from '@bufbuild/protobuf';
import { GraphProtoSchema, type GraphProto, type ModelProto, type NodeProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { Graph } from '../src/ir/graph.js';
import { Scope } from '../src/ir/scope.js';
import { makeNode } from '../src/ir/node.js';
import { makeValueInfo } from '../src/ir/types.js';
import { DT } from '../src/onnx/dtype.js';
import { floatTensor, makeTensor, readFloat32 } from '../src/onnx/tensor.js';
import { buildModel, runModel } from './helpers/build.js';
import { createRng } from '../src/data/random.js';
import type { NodeSpec } from '../src/ir/node.js';

/** A model with one float input x of `n` values and one output y. */
const xy = (nodes: NodeSpec[], n = 2) => buildModel({ inputs: [{ name: 'x', dims: [n] }], outputs: [{ name: 'y' }], nodes });
const names = (nodes: NodeProto[]) => nodes.map((n) => n.name);
const byName = (g: Graph, name: string) => g.nodes.find((n) => n.name === name)!;
const x2 = (data: number[]) => ({ x: { dtype: 'float32', dims: [data.length], data: Float32Array.from(data) } });
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** A branch or body graph: no inputs, the given nodes and float outputs. */
function subgraph(nodes: NodeSpec[], outputs: string[]): GraphProto {
  return buildModel({ inputs: [], outputs: outputs.map((name) => ({ name })), nodes }).graph!;
}

const branch = (opType: string) => subgraph([{ opType, inputs: ['a'], outputs: [`${opType}_out`] }], [`${opType}_out`]);

/** x → Relu → a; Add(a, a) → b → Sigmoid → y; If(cond) reads `a` in its branches (then: Neg, else: Identity) → y2. */
function modelWithIf(): ModelProto {
  return buildModel({
    inputs: [{ name: 'x', dims: [2] }],
    outputs: [{ name: 'y' }, { name: 'y2' }],
    initializers: [makeTensor('cond', DT.BOOL, [], Uint8Array.of(1))],
    nodes: [
      { name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['a'] },
      { name: 'add', opType: 'Add', inputs: ['a', 'a'], outputs: ['b'] },
      { name: 'if', opType: 'If', inputs: ['cond'], outputs: ['y2'], attrs: { then_branch: branch('Neg'), else_branch: branch('Identity') } },
      { name: 'sig', opType: 'Sigmoid', inputs: ['b'], outputs: ['y'] },
    ],
  });
}

describe('Graph index', () => {
  it('knows producers and consumers, including reads from inside subgraphs, each reader once', () => {
    const g = new Graph(modelWithIf().graph!);
    expect(g.producer('a')!.name).toBe('relu');
    expect(g.producer('x')).toBeUndefined(); // a graph input has no producer
    expect(names(g.consumers('a'))).toEqual(['add', 'if']); // Add reads it twice, listed once; If through its branches
    expect(names(g.consumers('x'))).toEqual(['relu']);
    expect(g.consumers('y')).toEqual([]);
    expect(g.inputs.map((v) => v.name)).toEqual(['x']);
    expect(g.constant('cond')).toBeDefined();
    expect([g.hasName('a'), g.hasName('relu'), g.hasName('cond'), g.hasName('nope')]).toEqual([true, true, true, false]);
    // An edit updates the index at once.
    g.setInputs(byName(g, 'sig'), ['a']);
    expect(g.consumers('b')).toEqual([]);
    expect(names(g.consumers('a'))).toEqual(['add', 'if', 'sig']);
    expect(g.node('sig')).toBe(byName(g, 'sig'));
  });
});

describe('Graph.sort', () => {
  it('orders nodes stored out of order, keeping the stored order among independent nodes', async () => {
    const model = xy([
      { name: 'add', opType: 'Add', inputs: ['b', 'c'], outputs: ['y'] },
      { name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['b'] },
      { name: 'neg', opType: 'Neg', inputs: ['x'], outputs: ['c'] },
    ]);
    const g = new Graph(model.graph!);
    g.sort();
    expect(names(g.nodes)).toEqual(['relu', 'neg', 'add']);
    expect(g.producer('y')!.name).toBe('add'); // index rebuilt after the sort
    g.sort();
    expect(names(g.nodes)).toEqual(['relu', 'neg', 'add']); // a sorted graph stays as it is
    // relu(x) + (−x): [1, −2] → [1 − 1, 0 + 2] = [0, 2].
    expect(Array.from((await runModel(model, x2([1, -2]))).y!)).toEqual([0, 2]);
  });

  it('reverses a reversed chain and puts the producer of a subgraph’s outer read first', () => {
    // d ← c ← b ← a ← x, stored as d, c, b, a.
    const chain = xy([['d', 'c', 'y'], ['c', 'b', 'c'], ['b', 'a', 'b'], ['a', 'x', 'a']].map(([name, i, o]) => ({ name, opType: 'Relu', inputs: [i!], outputs: [o!] })));
    const g = new Graph(chain.graph!);
    g.sort();
    expect(names(g.nodes)).toEqual(['a', 'b', 'c', 'd']);

    const m = modelWithIf();
    const relu = m.graph!.node.shift()!; // move Relu after the If that reads `a` inside its branches
    m.graph!.node.push(relu);
    const h = new Graph(m.graph!);
    h.sort();
    expect(names(h.nodes)).toEqual(['relu', 'add', 'if', 'sig']);
  });

  it('refuses a cycle with a BAD_MODEL error that names the nodes on it', () => {
    const cyclic = xy([
      { name: 'p', opType: 'Add', inputs: ['x', 'c'], outputs: ['a'] },
      { name: 'q', opType: 'Relu', inputs: ['a'], outputs: ['b'] },
      { name: 'r', opType: 'Neg', inputs: ['b'], outputs: ['c'] },
      { name: 'out', opType: 'Identity', inputs: ['c'], outputs: ['y'] },
    ]);
    const named = { code: 'BAD_MODEL', message: expect.stringMatching(/cycle \(through 'p' \(Add\), 'q' \(Relu\), 'r' \(Neg\)\)/) };
    expect(() => new Graph(cyclic.graph!).sort()).toThrow(expect.objectContaining(named));
    // A node reading its own output, unnamed: described by op type and output.
    // Nodes stuck behind the cycle are not on it: stored first, 'out' is still not named.
    const behind = xy([cyclic.graph!.node[3]!, ...cyclic.graph!.node.slice(0, 3)].map((n) => ({ name: n.name, opType: n.opType, inputs: n.input, outputs: n.output })));
    expect(() => new Graph(behind.graph!).sort()).toThrow(expect.objectContaining(named));
    const self = xy([{ opType: 'Relu', inputs: ['y'], outputs: ['y'] }]);
    self.graph!.node[0]!.name = '';
    expect(() => new Graph(self.graph!).sort()).toThrow("Relu → 'y'");
  });
});

describe('Graph edits', () => {
  it('inserts a node on an edge (insertNodes + replaceUses) and the model still runs', async () => {
    const model = xy([
      { name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['r'] },
      { name: 'sig', opType: 'Sigmoid', inputs: ['r'], outputs: ['y'] },
    ], 3);
    const g = new Graph(model.graph!);
    const neg = makeNode({ name: 'neg', opType: 'Neg', inputs: ['r'], outputs: ['r_neg'] });
    g.insertNodes([neg], g.producer('r'));
    g.replaceUses('r', 'r_neg', (n) => n === neg);
    expect(names(g.nodes)).toEqual(['relu', 'neg', 'sig']);
    expect(byName(g, 'sig').input).toEqual(['r_neg']);
    expect(neg.input).toEqual(['r']); // the skipped reader keeps the old name
    expect(names(g.consumers('r'))).toEqual(['neg']);
    expect(g.producer('r_neg')).toBe(neg);
    // x = [1, −2, 3] → relu [1, 0, 3] → neg [−1, −0, −3] → sigmoid.
    const y = (await runModel(model, x2([1, -2, 3]))).y!;
    [sigmoid(-1), 0.5, sigmoid(-3)].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 6));
    // Without `after`, nodes go first; sort() then moves them after their producers.
    g.insertNodes([makeNode({ name: 'abs', opType: 'Abs', inputs: ['r'], outputs: ['r_abs'] })]);
    expect(names(g.nodes)).toEqual(['abs', 'relu', 'neg', 'sig']);
    g.sort();
    expect(names(g.nodes)).toEqual(['relu', 'abs', 'neg', 'sig']);
  });

  it('replaceUses renames reads inside If branches but never a graph output', async () => {
    const model = modelWithIf();
    const g = new Graph(model.graph!);
    const neg = makeNode({ name: 'neg', opType: 'Neg', inputs: ['a'], outputs: ['a2'] });
    g.insertNodes([neg], g.producer('a'));
    g.replaceUses('a', 'a2', (n) => n === neg);
    g.commit();
    expect(byName(g, 'add').input).toEqual(['a2', 'a2']);
    const branches = byName(g, 'if').attribute.map((a) => a.g!.node[0]!.input);
    expect(branches).toEqual([['a2'], ['a2']]);
    expect(names(g.consumers('a'))).toEqual(['neg']);
    // x = [1, 2]: a = [1, 2], a2 = [−1, −2], b = [−2, −4], y2 = then-branch Neg(a2) = [1, 2].
    const out = await runModel(model, x2([1, 2]));
    expect(Array.from(out.y2!)).toEqual([1, 2]);
    [sigmoid(-2), sigmoid(-4)].forEach((v, i) => expect(out.y![i]).toBeCloseTo(v, 6));
    // `b` read by Sigmoid and also made a graph output: its reader moves, the output keeps its name.
    model.graph!.output.push(makeValueInfo('b', { dtype: DT.FLOAT }));
    g.replaceUses('b', 'a2');
    expect(byName(g, 'sig').input).toEqual(['a2']);
    expect(model.graph!.output.map((o) => o.name)).toEqual(['y', 'y2', 'b']);
  });

  it('removes a bypassed node (replaceUses + removeNode)', async () => {
    const model = xy([
      { name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['r'] },
      { name: 'id', opType: 'Identity', inputs: ['r'], outputs: ['i'] },
      { name: 'neg', opType: 'Neg', inputs: ['i'], outputs: ['y'] },
    ]);
    const g = new Graph(model.graph!);
    g.replaceUses('i', 'r');
    g.removeNode(g.producer('i')!);
    expect(names(g.nodes)).toEqual(['relu', 'neg']);
    expect(byName(g, 'neg').input).toEqual(['r']);
    expect(g.producer('i')).toBeUndefined();
    // −relu([3, 5]) = [−3, −5].
    expect(Array.from((await runModel(model, x2([3, 5]))).y!)).toEqual([-3, -5]);
  });

  it('adds, replaces and removes initializers; an initializer that is also an input is not a constant', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: [2] }, { name: 'w', dims: [2] }],
      outputs: [{ name: 'y' }],
      initializers: [floatTensor('w', [2], [1, 1])],
      nodes: [
        { name: 'add', opType: 'Add', inputs: ['x', 'w'], outputs: ['s'] },
        { name: 'k', opType: 'Constant', inputs: [], outputs: ['k'], attrs: { value_float: 2.5 } },
        { name: 'mul', opType: 'Mul', inputs: ['s', 'k'], outputs: ['y'] },
      ],
    });
    model.graph!.valueInfo.push(makeValueInfo('w', { dtype: DT.FLOAT, shape: [2] }));
    const g = new Graph(model.graph!);
    expect(g.inputs.map((v) => v.name)).toEqual(['x']); // what a user feeds
    expect(g.initializer('w')).toBeDefined();
    expect(g.constant('w')).toBeUndefined(); // a user may feed w and override it
    expect(Array.from(readFloat32(g.constant('k')!))).toEqual([2.5]); // Constant node's value_float
    g.addInitializer(floatTensor('w', [2], [3, 4])); // same name: replaced, not duplicated
    g.commit();
    expect(model.graph!.initializer.map((t) => t.name)).toEqual(['w']);
    expect(Array.from(readFloat32(g.initializer('w')!))).toEqual([3, 4]);
    // (x + [3, 4])·2.5 with x = [1, 2] → [10, 15].
    expect(Array.from((await runModel(model, x2([1, 2]))).y!)).toEqual([10, 15]);
    g.addInitializer(floatTensor('extra', [1], [0]));
    expect(g.hasName('extra')).toBe(true);
    g.removeInitializer('w'); // also leaves the graph inputs and value_info
    g.commit();
    expect(model.graph!.initializer.map((t) => t.name)).toEqual(['extra']);
    expect(model.graph!.input.map((v) => v.name)).toEqual(['x']);
    expect(model.graph!.valueInfo).toEqual([]);
    expect(g.initializer('w')).toBeUndefined();
  });

  it('removeUnused drops dead chains and the initializers only they read', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims: [2] }, { name: 'w_old', dims: [2] }],
      outputs: [{ name: 'y' }],
      initializers: [floatTensor('w', [2], [1, 2]), floatTensor('w_dead', [2], [5, 5]), floatTensor('w_old', [2], [7, 7])],
      nodes: [
        { name: 'k', opType: 'Constant', inputs: [], outputs: ['k1'], attrs: { value_float: 1 } },
        { name: 'negk', opType: 'Neg', inputs: ['k1'], outputs: ['k2'] },
        { name: 'mulw', opType: 'Mul', inputs: ['x', 'w_dead'], outputs: ['m'] },
        { name: 'add', opType: 'Add', inputs: ['x', 'w'], outputs: ['y'] },
      ],
    });
    const g = new Graph(model.graph!);
    // Round 1 removes negk and mulw (outputs unread); round 2 removes k, whose only reader went.
    expect(g.removeUnused()).toBe(3);
    expect(names(g.nodes)).toEqual(['add']);
    expect(model.graph!.initializer.map((t) => t.name)).toEqual(['w']);
    expect(model.graph!.input.map((v) => v.name)).toEqual(['x']); // w_old was an initializer-backed input
    expect(g.removeUnused()).toBe(0);
    expect(Array.from((await runModel(model, x2([1, 1]))).y!)).toEqual([2, 3]);
    // An initializer read only inside an If branch is in use.
    const withIf = modelWithIf();
    withIf.graph!.initializer.push(floatTensor('kb', [2], [0, 0]));
    withIf.graph!.node[2]!.attribute[1]!.g!.node[0]!.input = ['kb']; // else branch: Identity(kb)
    expect(new Graph(withIf.graph!).removeUnused()).toBe(0);
    expect(withIf.graph!.initializer.map((t) => t.name)).toEqual(['cond', 'kb']);
  });

  it('uniqueName avoids value, node and initializer names and reserves what it returns', () => {
    const g = new Graph(modelWithIf().graph!);
    expect(g.uniqueName('a')).toBe('a_1'); // a value
    expect(g.uniqueName('relu')).toBe('relu_1'); // a node name
    expect(g.uniqueName('cond')).toBe('cond_1'); // an initializer
    expect(g.uniqueName('fresh')).toBe('fresh');
    expect(g.uniqueName('fresh')).toBe('fresh_1');
    expect(g.uniqueName('a')).toBe('a_2');
    // A name handed out stays taken after an edit, even before anything in the graph uses it.
    const t = g.uniqueName('t');
    g.addInitializer(floatTensor('other', [1], [0]));
    expect(g.uniqueName('t')).not.toBe(t);
  });
});

describe('Scope', () => {
  it('finds outer constants from a subgraph unless the subgraph defines the name itself', () => {
    const outer = new Graph(buildModel({ inputs: [], outputs: [{ name: 'w' }], initializers: [floatTensor('w', [1], [1])], nodes: [] }).graph!);
    const reads = subgraph([{ opType: 'Identity', inputs: ['w'], outputs: ['o'] }], ['o']);
    const [shadows, asInput] = [clone(GraphProtoSchema, reads), clone(GraphProtoSchema, reads)];
    shadows.initializer.push(floatTensor('w', [1], [2]));
    asInput.input.push(makeValueInfo('w', { dtype: DT.FLOAT }));
    const root = new Scope(outer);
    const found = new Scope(new Graph(reads), root).lookup('w')!;
    expect(found.scope).toBe(root);
    expect(Array.from(readFloat32(found.tensor))).toEqual([1]);
    expect(Array.from(readFloat32(new Scope(new Graph(shadows), root).constant('w')!))).toEqual([2]);
    expect(new Scope(new Graph(asInput), root).constant('w')).toBeUndefined(); // a subgraph input is not a constant
    // An Identity of a constant is that constant (shared weights); any other producer makes a non-constant.
    const viaIdentity = new Scope(new Graph(reads), root).lookup('o')!;
    expect([viaIdentity.name, viaIdentity.scope]).toEqual(['w', root]);
    const negated = subgraph([{ opType: 'Neg', inputs: ['w'], outputs: ['o'] }], ['o']);
    expect(new Scope(new Graph(negated), root).constant('o')).toBeUndefined();
  });
});

describe('Graph index under random edits', () => {
  /** What the index says about every name, as plain data a fresh index of the committed proto must match. */
  function indexView(g: Graph, universe: Iterable<string>) {
    const view: Record<string, unknown> = {};
    for (const name of universe)
      view[name] = {
        producer: g.producer(name)?.name,
        consumers: names(g.consumers(name)).sort(),
        initializer: !!g.initializer(name),
        constant: !!g.constant(name),
        input: g.isGraphInput(name),
        node: g.node(name)?.name,
        taken: g.hasName(name),
      };
    return { view, nodes: names(g.nodes), inputs: g.inputs.map((v) => v.name), inits: g.proto.initializer.map((t) => t.name) };
  }

  it('matches an index built from scratch after every step of 400 random edits, on three seeds', () => {
    for (const seed of [1, 2, 3]) {
      const rng = createRng(seed);
      const pick = <T>(a: readonly T[]): T => a[rng.nextBelow(a.length)]!;
      const values = ['x'];
      const nodes: NodeSpec[] = [];
      for (let i = 0; i < 40; i++) {
        const out = `v${i}`;
        nodes.push({ name: `n${i}`, opType: i % 3 ? 'Add' : 'Relu', inputs: i % 3 ? [pick(values), pick(values)] : [pick(values)], outputs: [out] });
        values.push(out);
      }
      // An If whose branch reads an outer value: a read through a subgraph.
      nodes.push({ name: 'if', opType: 'If', inputs: ['w0'], outputs: ['y'], attrs: { then_branch: subgraph([{ opType: 'Neg', inputs: ['v5'], outputs: ['t'] }], ['t']), else_branch: branch('Identity') } });
      const model = buildModel({ inputs: [{ name: 'x', dims: [2] }, { name: 'w1', dims: [2] }], outputs: [{ name: 'y' }, { name: 'v39' }], initializers: [floatTensor('w0', [1], [1]), floatTensor('w1', [2], [0, 0])], nodes });
      const g = new Graph(model.graph!);
      let made = 0;
      const fresh = () => `e${made++}`;
      for (let step = 0; step < 400; step++) {
        const live = g.nodes.filter((n) => n.opType !== 'If');
        const valuesNow = ['x', 'w0', 'w1', ...live.flatMap((n) => n.output)];
        switch (live.length < 5 ? 0 : rng.nextBelow(10)) {
          case 0:
            g.insertNodes([makeNode({ name: fresh(), opType: 'Relu', inputs: [pick(valuesNow)], outputs: [fresh()] })], rng.nextBelow(4) ? pick(live) : undefined);
            break;
          case 1:
            g.removeNode(pick(live));
            break;
          case 2: {
            const n = pick(live);
            g.setInput(n, rng.nextBelow(n.input.length + 1), pick(valuesNow));
            break;
          }
          case 3:
            g.setOutput(pick(live), 0, fresh());
            break;
          case 4:
            g.replaceUses(pick(valuesNow), pick(valuesNow));
            break;
          case 5:
            g.addInitializer(floatTensor(rng.nextBelow(2) ? 'w1' : fresh(), [1], [step]));
            break;
          case 6:
            g.removeInitializer(pick(['w0', 'w1', ...g.proto.initializer.map((t) => t.name)]));
            break;
          case 7: {
            const n = pick(live);
            // Half the time the replacement keeps the node's name: for a moment two nodes share it.
            const name = rng.nextBelow(2) ? n.name : fresh();
            const first = makeNode({ name, opType: 'Neg', inputs: [n.input[0]!], outputs: [n.output[0]!] });
            const second = makeNode({ name: fresh(), opType: 'Relu', inputs: [pick(valuesNow)], outputs: [fresh()] });
            if (rng.nextBelow(2)) g.replaceNode(n, [first, second]);
            else {
              g.insertNodes([first, second], n);
              g.removeNode(n);
            }
            break;
          }
          case 8:
            if (rng.nextBelow(4) === 0) {
              g.removeUnused();
              expect(g.nodes.every((n) => n.output.some((o) => o && (g.consumers(o).length || g.isGraphOutput(o))))).toBe(true);
            } else g.setName(pick(live), fresh());
            break;
          case 9: {
            // Edited behind the graph's back (as the opset upgrade's adapters do), then refreshed.
            const n = pick(live);
            n.input[0] = pick(valuesNow);
            n.output[0] = fresh();
            g.refresh(n);
            break;
          }
        }
        g.commit();
        const universe = new Set([...valuesNow, ...g.nodes.flatMap((n) => [n.name, ...n.input, ...n.output]), 'w0', 'w1', 'y', 't']);
        for (let i = Math.max(0, made - 20); i < made; i++) universe.add(`e${i}`); // recent names, gone or not
        const rebuilt = new Graph(model.graph!);
        // Names once used stay taken in the edited graph; a fresh index knows only the names still there.
        const edited = indexView(g, universe);
        const fromScratch = indexView(rebuilt, universe);
        for (const name of universe) {
          const a = edited.view[name] as { taken: boolean };
          const b = fromScratch.view[name] as { taken: boolean };
          expect(a.taken || !b.taken).toBe(true);
          a.taken = b.taken;
        }
        if (JSON.stringify(edited) !== JSON.stringify(fromScratch)) expect(edited, `seed ${seed}, step ${step}`).toEqual(fromScratch);
      }
    }
  });
});

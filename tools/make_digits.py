#!/usr/bin/env python3
"""Writes the compact copy of the UCI optical handwritten digits that the built-in `digits` captioning task reads.

Source: the 1,797 8x8 digit images (grey levels 0..16) with their labels that scikit-learn ships as
sklearn/datasets/data/digits.csv.gz (Debian: apt-get install python3-sklearn). Each CSV row is 64 pixel values
(row-major, top row first) followed by the label 0..9.

Output: src/SpanAttention/Data/Captioning/Resources/digits.bin, gzip (mtime 0, so the bytes are reproducible) of
    4 bytes  magic "UCID"
    1 byte   format version (1)
    2 bytes  N, the number of images, little-endian (1797)
    N bytes  labels, 0..9, in the CSV's order
    N*64     pixels, 0..16, image after image, each row-major 8x8, in the CSV's order

Usage: /usr/bin/python3 tools/make_digits.py [--check]   (--check: exit 1 if the committed file differs)
Licence of the data: CC BY 4.0, see Resources/DIGITS-ATTRIBUTION.md.
"""
import csv
import gzip
import io
import os
import struct
import sys

import sklearn.datasets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "src", "SpanAttention", "Data", "Captioning", "Resources", "digits.bin")


def read_source():
    path = os.path.join(os.path.dirname(sklearn.datasets.__file__), "data", "digits.csv.gz")
    labels, pixels = [], []
    with gzip.open(path, "rt") as f:
        for row in csv.reader(f):
            values = [int(float(v)) for v in row]
            if len(values) != 65:
                raise SystemExit(f"{path}: a row has {len(values)} values, expected 65")
            image, label = values[:64], values[64]
            if not 0 <= label <= 9 or any(not 0 <= v <= 16 for v in image):
                raise SystemExit(f"{path}: a value is out of range (label {label})")
            labels.append(label)
            pixels.extend(image)
    if len(labels) != 1797:
        raise SystemExit(f"{path}: {len(labels)} images, expected 1797")
    return path, labels, pixels


def encode(labels, pixels):
    raw = b"UCID" + bytes([1]) + struct.pack("<H", len(labels)) + bytes(labels) + bytes(pixels)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0, filename="") as z:
        z.write(raw)
    return out.getvalue()


def main():
    path, labels, pixels = read_source()
    data = encode(labels, pixels)
    if "--check" in sys.argv:
        with open(OUT, "rb") as f:
            same = f.read() == data
        print(f"{OUT}: {'up to date' if same else 'DIFFERS from'} {path}")
        sys.exit(0 if same else 1)
    tmp = OUT + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, OUT)
    counts = [labels.count(d) for d in range(10)]
    print(f"wrote {OUT}: {len(data)} bytes, {len(labels)} images from {path}; per digit {counts}")


if __name__ == "__main__":
    main()

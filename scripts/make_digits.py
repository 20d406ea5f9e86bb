"""Write autograd_tiny/datasets/digits.csv.gz, the 8x8 handwritten digits, from a scikit-learn wheel.

The data: the test set of the UCI "Optical Recognition of Handwritten Digits" data set, by
E. Alpaydin and C. Kaynak (1998), https://doi.org/10.24432/C50P49, licensed CC BY 4.0. NIST's
preprocessing turned 32x32 bitmaps written by 13 people into 8x8 images: each pixel counts the
inked bits of a 4x4 block, 0 to 16. There are 1,797 images, one per line, as the UCI file
``optdigits.tes`` has them: 64 pixels row by row (top row first), then the digit 0-9, all
comma-separated.

scikit-learn ships exactly these 1,797 lines as ``sklearn/datasets/data/digits.csv.gz`` in its
wheel (its ``load_digits``); this script reads them from there once, checks them, and writes
them recompressed (gzip level 9, no name or time in the header, so the file's bytes depend on
the data alone). It runs by hand, not at install time, and scikit-learn is not a dependency::

    pip download scikit-learn --no-deps -d /tmp/skl
    python scripts/make_digits.py /tmp/skl/scikit_learn-*.whl

It prints the SHA-256 of the lines; tests/test_digits.py holds the same number, so any change
to the data shows. The file in the package was taken from scikit-learn 1.9.1's wheel.

The script lives in scripts/, not beside the file it writes: everything under autograd_tiny/
goes into the wheel, and this is a maintainer's tool, not part of the package.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import zipfile
from pathlib import Path

MEMBER = "sklearn/datasets/data/digits.csv.gz"
TARGET = Path(__file__).resolve().parent.parent / "autograd_tiny" / "datasets" / "digits.csv.gz"
IMAGES, PIXELS, CLASSES, INK = 1797, 64, 10, 16


def read_wheel(wheel: Path) -> bytes:
    """The digits' lines, as text bytes, out of scikit-learn's wheel (a zip file)."""
    with zipfile.ZipFile(wheel) as archive:
        return gzip.decompress(archive.read(MEMBER))


def check(text: bytes) -> None:
    """The layout described above, or a SystemExit saying where it differs."""
    lines = text.decode("ascii").split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline
    if len(lines) != IMAGES:
        raise SystemExit(f"expected {IMAGES} lines, found {len(lines)}")
    for number, line in enumerate(lines, start=1):
        fields = line.split(",")
        if len(fields) != PIXELS + 1 or not all(f.isdigit() and str(int(f)) == f for f in fields):
            raise SystemExit(f"line {number}: expected {PIXELS + 1} comma-separated whole numbers: {line[:80]!r}")
        values = [int(f) for f in fields]
        if max(values[:PIXELS]) > INK or values[PIXELS] >= CLASSES:
            raise SystemExit(f"line {number}: pixels must be 0-{INK} and the digit 0-{CLASSES - 1}: {line[:80]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="a scikit-learn wheel (.whl), e.g. from pip download")
    parser.add_argument("--out", type=Path, default=TARGET, help=f"where to write (default: {TARGET})")
    args = parser.parse_args()

    text = read_wheel(args.wheel)
    check(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes) from {args.wheel.name}")
    print(f"{IMAGES} images; SHA-256 of the lines: {hashlib.sha256(text).hexdigest()}")


if __name__ == "__main__":
    main()

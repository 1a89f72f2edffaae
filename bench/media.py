"""Time and peak memory to take in a 12-megapixel phone photo (4000×3000 JPEG with EXIF and
GPS): decode, turn upright, strip, resize to media.max_image_side, re-encode, preview, blurhash.

Each run is a fresh process, so its peak resident memory (VmHWM) is the photo's cost on top of
the interpreter with Pillow loaded. Prints medians. Usage:
  .venv/bin/python bench/media.py [--runs 5] [--side 2560]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def photo() -> bytes:
    """Smooth light and fine grain, like a phone picture: compresses to a few MB at quality 92."""
    from PIL import Image

    size = (4000, 3000)
    light = Image.linear_gradient("L").resize(size).convert("RGB")
    grain = Image.effect_noise(size, 24).convert("RGB")
    picture = Image.blend(light, grain, 0.35)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 7.25)}
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(path: str, side: int) -> None:
    """One measurement, in its own process."""
    sys.path.insert(0, str(ROOT))
    from PIL import Image  # noqa: F401 - loaded before the baseline, as in the server

    from smallfedi.core import images

    data = Path(path).read_bytes()
    before = rss_kib()
    started = time.perf_counter()
    done = images.process(io.BytesIO(data), max_side=side)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "peak_over_baseline_kib": peak_kib() - before, "baseline_kib": before,
                      "in_bytes": len(data), "out_bytes": len(done.main.data),
                      "out_size": [done.main.width, done.main.height]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--side", type=int, default=2560)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.side)
        return
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo.jpg"
        path.write_bytes(photo())
        results = []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, __file__, "--child", str(path), "--side", str(args.side)],
                                 capture_output=True, text=True, check=True).stdout
            results.append(json.loads(out))
    seconds = [r["seconds"] for r in results]
    peaks = [r["peak_over_baseline_kib"] / 1024 for r in results]
    first = results[0]
    print(f"12-MP JPEG, {first['in_bytes'] / 1048576:.1f} MiB in, "
          f"{first['out_size'][0]}×{first['out_size'][1]} {first['out_bytes'] / 1048576:.2f} MiB out "
          f"(max side {args.side}), {args.runs} runs")
    print(f"  time: median {statistics.median(seconds) * 1000:.0f} ms (min {min(seconds) * 1000:.0f}, "
          f"max {max(seconds) * 1000:.0f})")
    print(f"  peak memory over the process's baseline: median {statistics.median(peaks):.0f} MiB "
          f"(baseline {first['baseline_kib'] / 1024:.0f} MiB with Pillow loaded)")


if __name__ == "__main__":
    main()

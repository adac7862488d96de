"""Regenerate every fixture under tests/fixtures/, in order.

Each generator runs in its own Python process so that seeding and torch's
thread settings start from a clean state every time. Run from anywhere:

    /usr/bin/python3 tools/train-fixtures/make_all.py
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPTS = ["make_digits.py", "make_digits_mobile.py", "make_digits_mnv3.py", "make_digits_pruned.py", "make_accel.py",
           "make_accel_gru.py", "make_mobilenet.py"]


def main():
    for name in SCRIPTS:
        print(f"=== {name}", flush=True)
        t0 = time.time()
        subprocess.run([sys.executable, str(HERE / name)], cwd=ROOT, check=True)
        print(f"=== {name} done in {time.time() - t0:.1f} s", flush=True)

    total = 0
    print("\nfixture files:")
    for p in sorted((ROOT / "tests" / "fixtures").rglob("*")):
        if p.is_file():
            n = p.stat().st_size
            total += n
            print(f"  {n:>10,d}  {p.relative_to(ROOT)}")
    print(f"  {total:>10,d}  total ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

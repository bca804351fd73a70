"""What the benchmark scripts share: each measurement runs in a fresh Python process (so one precision
policy or thread setting cannot leak into the next), and results land in benchmarks/results/<name>.json."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def in_child(script: str, *args) -> dict:
    """Run `script --child *args` and return the JSON dict on its last stdout line; exit 1 with its stderr
    tail when it fails."""
    out = subprocess.run([sys.executable, script, "--child", *map(str, args)],
                         capture_output=True, text=True, check=False)
    if out.returncode:
        print(out.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"error: {Path(script).name} --child {' '.join(map(str, args))} exited {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_results(name: str, results) -> Path:
    """benchmarks/results/<name>.json, with the machine it was measured on."""
    sys.path.insert(0, str(ROOT / "src"))
    from kexue.core import io
    path = ROOT / "benchmarks" / "results" / f"{name}.json"
    io.write_json(path, {"machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
                         "results": results})
    return path

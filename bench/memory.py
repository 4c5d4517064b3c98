"""How much memory one step takes for a large MMIF: run with `python bench/memory.py [--mb 50]`.

The issue asks that a 50 MB MMIF pass through a step without the worker holding more
than a few copies of it. This sends a generated MMIF of about that size (one view of
many TimeFrames) through runs.app_call.post_mmif to an app in another process that
answers it with one new view, and prints the peak of Python allocations in this
process (tracemalloc) against the size of the MMIF.
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The app: reads the MMIF and answers it with one small view added, without parsing it.
APP = """
import sys
from werkzeug.serving import make_server

def app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]
    new_view = b', {"id": "v_new", "metadata": {"app": "http://bench/echo", "contains": {}}, "annotations": []}]}'
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.rstrip()[:-2] + new_view]

server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def big_mmif(path: Path, megabytes: float) -> int:
    count = int(megabytes * 1e6 / 150)  # about 150 bytes per TimeFrame
    annotations = ",".join(
        json.dumps({"@type": "http://clams.ai/vocabulary/type/TimeFrame/v6",
                    "properties": {"id": f"v_0:tf_{i}", "start": i, "end": i + 1, "label": "speech"}})
        for i in range(count)
    )  # fmt: skip
    head = {
        "metadata": {"mmif": "http://mmif.clams.ai/1.2.0"},
        "documents": [{"@type": "http://clams.ai/vocabulary/type/AudioDocument/v2",
                       "properties": {"id": "d1", "mime": "audio/wav", "location": "file:///bench.wav"}}],
    }  # fmt: skip
    text = json.dumps(head)[:-1] + ', "views": [{"id": "v_0", "metadata": {"app": "http://bench/big", "contains": {}}, '
    path.write_text(text + f'"annotations": [{annotations}]}}]}}')
    return path.stat().st_size


TARGET_RATIO = 4.0


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise SystemExit("This benchmark reads /proc (Linux).")


def reset_peak_rss() -> int:
    """Reset the kernel's peak-RSS mark of this process (Linux 4.0+); returns the RSS now."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS")


def peak_rss() -> int:
    return _status_kb("VmHWM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the MMIF in MB (default 50)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chowda_site.settings")
    os.environ.setdefault("CHOWDA_SECRET_KEY", "bench-only-memory")  # pragma: allowlist secret
    import django

    django.setup()
    from runs.app_call import post_mmif

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.mmif"
        size = big_mmif(path, args.mb)
        app = subprocess.Popen([sys.executable, "-c", APP], stdout=subprocess.PIPE, text=True)
        try:
            port = int(app.stdout.readline())

            def step():
                with path.open("rb") as mmif:
                    return post_mmif(
                        app_name="echo", endpoint=f"http://127.0.0.1:{port}/", timeout=300, mmif=mmif, query=[],
                        known_view_ids={"v_0"},
                    )  # fmt: skip

            # First without tracemalloc (it adds its own memory): how much the process's resident set grows.
            gc.collect()
            rss_before = reset_peak_rss()
            answer = step()
            rss_growth = peak_rss() - rss_before
            del answer
            gc.collect()
            tracemalloc.start()
            answer = step()
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            app.terminate()
            app.wait()
    if answer.kind != "succeeded":
        raise SystemExit(f"The step did not succeed: {answer.message}")
    ratio = peak / size
    print(f"MMIF size                                {size / 1e6:8.1f} MB")
    print(f"peak Python allocations in the step      {peak / 1e6:8.1f} MB  ({ratio:.1f}x the MMIF; "
          f"target <= {TARGET_RATIO:g}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'})")  # fmt: skip
    print(f"growth of the process's peak RSS         {rss_growth / 1e6:8.1f} MB  ({rss_growth / size:.1f}x the MMIF)")


if __name__ == "__main__":
    main()

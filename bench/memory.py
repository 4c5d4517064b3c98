"""How much memory one step takes for a large MMIF: run with `python bench/memory.py [--mb 50]`.

The issue asks that a 50 MB MMIF pass through a step without the worker holding more
than a few copies of it. This sends a generated MMIF of about that size (one view of
many TimeFrames) through runs.app_call.post_mmif to an app in another process that
answers it with one new view, and prints the peak of Python allocations in this
process (tracemalloc) against the size of the MMIF.
"""

import argparse
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
            tracemalloc.start()
            with path.open("rb") as mmif:
                answer = post_mmif(
                    app_name="echo", endpoint=f"http://127.0.0.1:{port}/", timeout=300, mmif=mmif, query=[],
                    known_view_ids={"v_0"},
                )  # fmt: skip
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            app.terminate()
            app.wait()
    if answer.kind != "succeeded":
        raise SystemExit(f"The step did not succeed: {answer.message}")
    print(f"MMIF size                       {size / 1e6:8.1f} MB")
    print(f"peak Python allocations in step {peak / 1e6:8.1f} MB  ({peak / size:.1f}x the MMIF)")


if __name__ == "__main__":
    main()

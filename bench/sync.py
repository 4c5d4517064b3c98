"""Syncing an S3 media source of 10,000 and of 100,000 objects: time, queries per page and peak memory.

    make bench                       # or: .venv/bin/python bench/sync.py [--sizes 10000 100000]

moto's S3 server runs in its own process, its bucket filled directly in its memory (a PUT per object would
time the filling, not the sync). Each sync then runs in a fresh process of its own on a temporary SQLite
database (or CHOWDA_DATABASE_URL), so that its peak memory is its own: the figure is how far the process's
peak resident memory rose above what it held before the sync began. A sync streams pages of 1,000 objects,
so that rise should not grow with the number of objects; the queries per page should not either (the upsert
is bulk: no query per object). A second sync of the same bucket, with nothing changed, is timed too, and so is
listing the bucket alone: moto's listing is slow at 100,000 keys, and that part is the server's, not Chowda's.

A benchmark, not a test: it prints its figures and exits 0, and 1 only if something breaks.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BUCKET = "bench-archive"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="objects per bucket")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE (bench/summary.py reads it)")
    # Internal: the moto server process, and the process of one sync.
    parser.add_argument("--serve", type=int, nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--one", nargs=2, metavar=("ENDPOINT", "OBJECTS"), help=argparse.SUPPRESS)
    return parser.parse_args()


def serve(sizes: list[int]) -> None:
    """moto's S3 server with one bucket per size, filled in memory; prints its URL, then serves until killed."""
    import logging

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.s3.models import s3_backends

    from chowda_site.redis_server import free_port

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for size in sizes:
        bucket = f"{BUCKET}-{size}"
        backend.create_bucket(bucket, "us-east-1")
        for n in range(size):
            backend.put_object(bucket, f"media/cpb-aacip-{size}-{n:07d}.mp4", b"x")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    while True:
        time.sleep(3600)


def memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def one(endpoint: str, objects: int) -> None:
    """Two syncs of the bucket of ``objects`` objects in this process; prints their figures as JSON."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from batches.models import MediaFile
    from sources.models import MediaSource, SourceKind, SyncRun
    from sources.sync import sync_run

    source = MediaSource.objects.create(
        name=f"bench {objects} {uuid.uuid4().hex[:6]}",
        kind=SourceKind.S3,
        bucket=f"{BUCKET}-{objects}",
        prefix="media",
        endpoint_url=endpoint,
    )
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    figures = {}
    for label in ("first", "again"):
        sync = SyncRun.objects.create(source=source, trigger="bench/sync.py")
        queries = 0
        before = memory_kb("VmRSS")
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            done = sync_run(sync.pk)
            seconds = time.perf_counter() - started
        if done is None or done.status != "succeeded":
            raise SystemExit(f"The {label} sync did not succeed: {done and done.sentence}")
        figures[label] = {
            "seconds": seconds,
            "pages": done.pages,
            "queries_per_page": queries / max(done.pages, 1),
            "new": done.new,
            "unchanged": done.unchanged,
            "peak_rise_mb": (memory_kb("VmHWM") - before) / 1024,
        }
    figures["files"] = MediaFile.objects.count()
    print(json.dumps(figures), flush=True)


def listing_seconds(endpoint: str, objects: int) -> float:
    """How long the S3 server takes to list the bucket, page by page, to a client that does nothing else."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    started = time.perf_counter()
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=f"{BUCKET}-{objects}", Prefix="media", PaginationConfig={"PageSize": 1000}
    )
    listed = sum(len(page.get("Contents", [])) for page in pages)
    if listed != objects:
        raise SystemExit(f"moto listed {listed:,} objects of {objects:,}.")
    return time.perf_counter() - started


def main() -> int:
    args = parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.one:
        one(args.one[0], int(args.one[1]))
        return 0

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="chowda_site.settings",
        CHOWDA_SECRET_KEY="bench-only-sync",  # pragma: allowlist secret
        CHOWDA_DEBUG="false",
        CHOWDA_LOG_LEVEL="WARNING",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # pragma: allowlist secret
        AWS_DEFAULT_REGION="us-east-1",
    )
    os.environ.update({name: env[name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
    started = time.perf_counter()
    print(f"filling moto's S3 server with {' and '.join(f'{n:,}' for n in args.sizes)} objects ...", flush=True)
    moto = subprocess.Popen(
        [sys.executable, __file__, "--serve", *map(str, args.sizes)], stdout=subprocess.PIPE, text=True, env=env
    )
    results = {}
    try:
        line = moto.stdout.readline()
        if not line.startswith("listening on "):
            raise SystemExit("moto's S3 server did not start; `make install-dev` installs it.")
        endpoint = line.split("listening on ", 1)[1].strip()
        print(f"  filled in {time.perf_counter() - started:.1f} s", flush=True)
        for size in args.sizes:
            listing = listing_seconds(endpoint, size)
            print(f"listing {size:,} objects alone (boto3's paginator, no Chowda): {listing:.1f} s", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                own = dict(env, CHOWDA_MEDIA_ROOT=str(Path(tmp) / "media"))
                own.setdefault("CHOWDA_DATABASE_URL", f"sqlite:///{Path(tmp) / 'sync.sqlite3'}")
                if os.environ.get("CHOWDA_DATABASE_URL"):
                    own["CHOWDA_DATABASE_URL"] = os.environ["CHOWDA_DATABASE_URL"]
                    print("  (on CHOWDA_DATABASE_URL: its media files and sources are left there)", flush=True)
                done = subprocess.run(
                    [sys.executable, __file__, "--one", endpoint, str(size)],
                    env=own,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
                if done.returncode != 0:
                    raise SystemExit(f"The sync of {size:,} objects broke:\n{done.stderr[-3000:]}{done.stdout[-500:]}")
                figures = json.loads(done.stdout.strip().splitlines()[-1])
            figures["listing_seconds"] = listing
            results[size] = figures
            first, again = figures["first"], figures["again"]
            print(
                f"sync of {size:,} objects: {first['seconds']:.1f} s ({size / first['seconds']:,.0f} objects/s), "
                f"{first['pages']} pages, {first['queries_per_page']:.1f} queries per page, peak memory "
                f"+{first['peak_rise_mb']:.0f} MB; {figures['files']:,} media files",
                flush=True,
            )
            print(
                f"  again, nothing changed: {again['seconds']:.1f} s, {again['unchanged']:,} unchanged, "
                f"{again['queries_per_page']:.1f} queries per page, peak memory +{again['peak_rise_mb']:.0f} MB",
                flush=True,
            )
    finally:
        moto.kill()
        moto.wait()
    if args.json:
        Path(args.json).write_text(json.dumps({str(size): figures for size, figures in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

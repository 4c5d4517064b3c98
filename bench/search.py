"""Search at an archive's scale: 1,000,000 labels and 100,000 texts on PostgreSQL, twenty typical queries.

    .venv/bin/python bench/search.py [--server postgres://postgres@127.0.0.1:5432] [--labels N] [--texts N]

It creates its own database (chowda_bench_search) on that server, migrates it, and drops it at the end (--keep
keeps it); it never touches another database. It prints:

- the indexing throughput of the real path (steps whose stored MMIF are read by the background job, rows per
  second and milliseconds per step), and of the bulk fill that brings the index to its size (rows per second:
  the cost of the stored tsvector and of the GIN index);
- what indexing adds to a step in the worker: the ``step_succeeded`` receiver, which only records a background
  job (CPU milliseconds per step);
- the p50 and p95 of twenty typical queries (a word, a phrase, a label with a time filter, text with a label
  and a pipeline), each the three SQL queries of a results page.

Texts are synthetic: words drawn from a Zipf distribution over a 20,000-word vocabulary, which is how word
frequencies in transcripts fall off. A benchmark, not a test: it exits 0 whether or not the goal is met.
"""

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "chowda_bench_search"
GOAL_P95_MS = 200.0
GOAL_STEP_MS = 1.0
# Most common first: speech and music cover much of a programme; a slate appears about once a file.
LABELS = ["speech", "music", "silence", "noise", "face", "text", "chyron", "bars", "credits", "slate"]
# Words placed at fixed ranks of the vocabulary, so that queries hit common, middling and rare words.
NAMED = {
    "president": 30,
    "hearings": 400,
    "senate": 150,
    "committee": 250,
    "watergate": 3000,
    "selma": 8000,
    "bridge": 1200,
    "marchers": 5000,
    "election": 600,
    "weather": 90,
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="a PostgreSQL server")
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=10_000, help="media files (one run each)")
    parser.add_argument("--indexed-steps", type=int, default=300, help="steps indexed by the real path")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--queries-only", action="store_true", help="time the queries on a database kept by --keep")
    return parser.parse_args()


def vocabulary(size: int = 20_000) -> tuple[list[str], list[float]]:
    rng = random.Random(7)
    syllables = ["ka", "lo", "mi", "ter", "san", "do", "ri", "ven", "tu", "pel", "gra", "nor", "shi", "al", "bex"]
    words, seen = [], set(NAMED)
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    for word, rank in NAMED.items():
        words.insert(rank, word)
    words = words[:size]
    return words, [1 / (rank + 1) for rank in range(len(words))]


class Sentences:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.words, self.weights = vocabulary()

    def __call__(self, low: int = 8, high: int = 40) -> str:
        return " ".join(self.rng.choices(self.words, self.weights, k=self.rng.randint(low, high))).capitalize() + "."


def admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def setup(server: str, tmp: Path) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="chowda_site.settings",
        CHOWDA_SECRET_KEY="bench-only-" + secrets.token_urlsafe(32),  # pragma: allowlist secret
        CHOWDA_DEBUG="false",
        CHOWDA_LOG_LEVEL="WARNING",
        CHOWDA_MEDIA_ROOT=str(tmp / "media"),
        CHOWDA_DATABASE_URL=f"{server}/{DATABASE}",
        CHOWDA_REDIS_URL="",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_runs(files: int):
    """Pipelines, batches, media files, and one succeeded two-step run per file (ASR, then a label detector)."""
    from django.utils import timezone

    from batches.models import Batch, MediaFile
    from deliverables.models import FinalMmif
    from pipelines.models import Pipeline
    from runs.models import Run, Status, StepRun

    pipelines = [Pipeline.objects.create(name=f"bench pipeline {n}") for n in range(3)]
    batches = [Batch.objects.create(name=f"bench batch {n}", pipeline=pipelines[n % 3]) for n in range(10)]
    media = MediaFile.objects.bulk_create(
        [MediaFile(guid=f"cpb-aacip-bench-{n}", location=f"file:///media/{n}.mp4") for n in range(files)],
        batch_size=5000,
    )
    runs = Run.objects.bulk_create(
        [Run(batch=batches[n % 10], media_file=m, status=Status.SUCCEEDED) for n, m in enumerate(media)],
        batch_size=5000,
    )
    # One file in ten has its run marked final, as a curator would after checking it.
    FinalMmif.objects.bulk_create(
        [FinalMmif(media_file_id=r.media_file_id, pipeline_id=r.batch.pipeline_id, run=r) for r in runs[::10]],
        batch_size=5000,
    )
    now = timezone.now()
    steps = StepRun.objects.bulk_create(
        [
            StepRun(run=run, position=p, app_name=name, status=Status.SUCCEEDED, finished_at=now)
            for run in runs
            for p, name in ((1, "whisper"), (2, "slate-detector"))
        ],
        batch_size=5000,
    )
    return runs, steps


def real_path(steps, sentences: Sentences) -> dict:
    """Index ``steps`` as the background job does: from a stored MMIF each, with texts aligned to TimeFrames."""
    import json

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from search.indexing import step_index

    frame = "http://clams.ai/vocabulary/type/TimeFrame/v6"
    for step in steps:
        annotations = []
        for n in range(1, 101):
            props = {"id": f"tf_{n}", "start": n * 1000, "end": n * 1000 + 900}
            if n > 10:
                props["label"] = LABELS[n % len(LABELS)]
            annotations.append({"@type": frame, "properties": props})
        for n in range(1, 11):
            text = {"id": f"td_{n}", "text": {"@value": sentences()}}
            annotations.append({"@type": "http://clams.ai/vocabulary/type/TextDocument/v1", "properties": text})
            link = {"id": f"al_{n}", "source": f"tf_{n}", "target": f"td_{n}"}
            annotations.append({"@type": "http://clams.ai/vocabulary/type/Alignment/v1", "properties": link})
        mmif = {
            "metadata": {"mmif": "http://mmif.clams.ai/1.0.0"},
            "documents": [],
            "views": [
                {
                    "id": "v_0",
                    "metadata": {"app": "http://apps.clams.ai/whisper/v1", "contains": {frame: {"timeUnit": "ms"}}},
                    "annotations": annotations,
                }
            ],
        }
        step.output_mmif = default_storage.save(f"bench/{step.pk}.mmif", ContentFile(json.dumps(mmif).encode()))
        step.summary = {"views": [{"id": "v_0"}]}
        step.save(update_fields=["output_mmif", "summary"])
    rows = 0
    started, cpu = time.perf_counter(), time.process_time()
    for step in steps:
        rows += step_index(step).findings
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"steps": len(steps), "rows": rows, "seconds": seconds, "cpu": cpu}


def bulk_fill(runs, steps, labels: int, texts: int, sentences: Sentences) -> dict:
    """The rest of the index, written with COPY: each row's tsvector is computed and put in the GIN index."""
    from django.db import connection
    from django.utils import timezone

    by_run = {}
    for step in steps:
        by_run.setdefault(step.run_id, {})[step.position] = step.pk
    rng = random.Random(11)
    now = timezone.now().isoformat()
    columns = (
        "step_id, run_id, batch_id, media_file_id, pipeline_id, kind, annotation_type, app, app_version, view_id, "
        'annotation_id, label, text, start, "end", found_at'
    )

    def rows():
        for n in range(labels + texts):
            run = runs[n % len(runs)]
            pipeline = run.batch.pipeline_id
            start = rng.uniform(0, 3600)
            if n < labels:
                step = by_run[run.pk][2]
                label = LABELS[min(len(LABELS) - 1, int(rng.expovariate(0.5)))]
                yield (step, run.pk, run.batch_id, run.media_file_id, pipeline, "label", "TimeFrame",
                       "slate-detector", "v1", "v_1", f"tf_{n}", label, "", start, start + 2, now)  # fmt: skip
            else:
                step = by_run[run.pk][1]
                yield (step, run.pk, run.batch_id, run.media_file_id, pipeline, "text", "TextDocument",
                       "whisper", "v1", "v_0", f"td_{n}", "", sentences(), start, start + 8, now)  # fmt: skip

    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.copy(f"COPY search_finding ({columns}) FROM STDIN") as copy:
        for row in rows():
            copy.write_row(row)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:  # as autovacuum leaves a table that has settled: statistics, visibility
        cursor.execute("VACUUM ANALYZE")
    return {"rows": labels + texts, "seconds": seconds}


def hot_path(steps, times: int = 1000) -> float:
    """CPU milliseconds the ``step_succeeded`` receivers add to a step (the search one records a job row)."""
    from background.models import BackgroundJob
    from runs.models import StepRun
    from runs.signals import step_succeeded

    chosen = steps[:times]
    cpu = time.process_time()
    for step in chosen:
        step_succeeded.send(sender=StepRun, step_id=step.pk, run_id=step.run_id)
    cpu = time.process_time() - cpu
    BackgroundJob.objects.filter(kind="search-index").delete()
    return 1000 * cpu / len(chosen)


def queries(pipeline_id: int, batch_id: int):
    from search.selectors import Criteria

    return [
        ("word: weather", Criteria(q="weather")),
        ("word: president", Criteria(q="president")),
        ("word: hearings", Criteria(q="hearings")),
        ("word: watergate", Criteria(q="watergate")),
        ("word: selma", Criteria(q="selma")),
        ('phrase: "senate committee"', Criteria(q='"senate committee"')),
        ('phrase: "watergate hearings"', Criteria(q='"watergate hearings"')),
        ('phrase: "selma bridge"', Criteria(q='"selma bridge"')),
        ("words: election or weather", Criteria(q="election or weather")),
        ("words: marchers -bridge", Criteria(q="marchers -bridge")),
        ("label slate after 5 min", Criteria(label="slate", start_from=300)),
        ("label chyron 10-20 min", Criteria(label="chyron", start_from=600, start_to=1200)),
        ("label speech after 5 min (the broadest)", Criteria(label="speech", start_from=300)),
        ("label slate, one batch", Criteria(label="slate", batch=batch_id)),
        ("label noise, final only", Criteria(label="noise", final=True)),
        ("text+label: slate, pipeline", Criteria(q="slate", label="slate", pipeline=pipeline_id)),
        ("text+pipeline: watergate", Criteria(q="watergate", pipeline=pipeline_id)),
        ("text+app+pipeline: senate", Criteria(q="senate", app="whisper", pipeline=pipeline_id)),
        ("text+time+pipeline: hearings", Criteria(q="hearings", start_from=600, pipeline=pipeline_id)),
        ("text+label+pipeline: silence", Criteria(q="silence", label="silence", pipeline=pipeline_id)),
    ]


def measure(pipeline_id: int, batch_id: int) -> list[tuple[str, float, int]]:
    from search.selectors import search

    asked = queries(pipeline_id, batch_id)
    for _name, criteria in asked:  # warm the caches once, as a server that has been up a while has them
        search(criteria)
    timed = []
    for name, criteria in asked:
        started = time.perf_counter()
        results = search(criteria)
        timed.append((name, 1000 * (time.perf_counter() - started), results.total_hits))
    return timed


def report(timed) -> None:
    for name, ms, hits in timed:
        print(f"  {ms:8.1f} ms  {hits:>9,} hits  {name}")
    values = sorted(ms for _, ms, _ in timed)
    p50 = statistics.median(values)
    p95 = statistics.quantiles(values, n=20, method="inclusive")[-1]
    verdict = "met" if p95 <= GOAL_P95_MS else "NOT met"
    print(f"queries: p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal p95 <= {GOAL_P95_MS:g} ms: {verdict})")


def queries_only(args) -> int:
    with tempfile.TemporaryDirectory(prefix="chowda-bench-search-") as tmp:
        setup(args.server, Path(tmp))
        from runs.models import Run

        first, second = Run.objects.select_related("batch").order_by("pk")[:2]
        report(measure(first.batch.pipeline_id, second.batch_id))
    return 0


def main() -> int:
    args = parse_args()
    if args.queries_only:
        return queries_only(args)
    admin(args.server, f"DROP DATABASE IF EXISTS {DATABASE}")
    admin(args.server, f"CREATE DATABASE {DATABASE}")
    try:
        with tempfile.TemporaryDirectory(prefix="chowda-bench-search-") as tmp:
            setup(args.server, Path(tmp))
            sentences = Sentences(3)
            runs, steps = make_runs(args.files)
            from batches.models import Batch

            batch_ids = dict(Batch.objects.values_list("pk", "pipeline_id"))
            for run in runs:
                run.batch.pipeline_id = batch_ids[run.batch_id]
            whisper = [s for s in steps if s.position == 1]
            real = real_path(whisper[: args.indexed_steps], sentences)
            per_step_ms = 1000 * real["seconds"] / real["steps"]
            print(
                f"indexing, real path: {real['rows']:,} rows from {real['steps']} stored MMIF"
                f" in {real['seconds']:.1f} s"
                f" = {real['rows'] / real['seconds']:,.0f} rows/s; {per_step_ms:.1f} ms per step in the background "
                f"job ({1000 * real['cpu'] / real['steps']:.1f} ms CPU)"
            )
            print(f"indexing on a step's path: {hot_path(steps):.3f} ms CPU per step (goal <= {GOAL_STEP_MS:g} ms)")
            filled = bulk_fill(runs, steps, args.labels, args.texts, sentences)
            print(
                f"indexing, bulk: {filled['rows']:,} rows in {filled['seconds']:.1f} s"
                f" = {filled['rows'] / filled['seconds']:,.0f} rows/s (tsvector and GIN index included)"
            )
            from search.models import Finding

            print(
                f"index: {Finding.objects.filter(kind='label').count():,} labels, "
                f"{Finding.objects.filter(kind='text').count():,} texts"
            )
            report(measure(runs[0].batch.pipeline_id, runs[1].batch_id))
            from django.db import connections

            connections.close_all()
    finally:
        if not args.keep:
            admin(args.server, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

import json

from django.core.management.base import CommandError

from chowda_site.startup import refuse_unknown_redis
from chowda_site.text import listed
from runs.management.commands._batch_command import BatchCommand, pipeline_named
from runs.services import DEFAULT_PILOT_SEED, Pilot, RunnerError, StartFrom, batch_start


def parse_override(text: str) -> tuple[int, str, object]:
    """``2:threshold=0.2`` → (2, "threshold", 0.2); a value that does not read as JSON stays text."""
    position, _, assignment = text.partition(":")
    name, equals, value = assignment.partition("=")
    if not position.strip().isdigit() or not name.strip() or not equals:
        raise CommandError(
            f"--override {text!r} is not of the form POSITION:NAME=VALUE; write for example --override 1:threshold=0.2."
        )
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return int(position), name.strip(), parsed


class Command(BatchCommand):
    help = (
        "Start the runs of a batch: every file without a queued, running or succeeded run, or a pilot of them "
        "(--first, --sample or --guids), with step parameters overridden for this start (--override)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        pilot = parser.add_mutually_exclusive_group()
        pilot.add_argument("--first", type=int, metavar="N", help="A pilot: the first N files still to run, by GUID.")
        pilot.add_argument("--sample", type=int, metavar="N", help="A pilot: a random sample of N files still to run.")
        pilot.add_argument("--guids", metavar="GUID,GUID,…", help="A pilot: the files with these GUIDs.")
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_PILOT_SEED,
            help="The sample's seed (from the same files still to run, the same seed draws the same sample).",
        )
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--from-blank", action="store_true", help="Start from a blank MMIF of each media file.")
        source.add_argument("--from-pipeline", metavar="PIPELINE", help="Start from each file's latest MMIF of it.")
        source.add_argument("--from-batch", metavar="BATCH", help="Start from that batch's output (id or name).")
        parser.add_argument(
            "--override",
            action="append",
            default=[],
            metavar="POSITION:NAME=VALUE",
            help="Change a step's parameter for this start only, e.g. 1:threshold=0.2 (repeat for more).",
        )

    def handle(
        self, *args, batch, first, sample, guids, seed, override, from_blank, from_pipeline, from_batch, **options
    ):
        batch = self.get_batch(batch)
        start_from = None
        if from_blank:
            start_from = StartFrom(blank=True)
        elif from_pipeline:
            start_from = StartFrom(pipeline=pipeline_named(from_pipeline))
        elif from_batch:
            start_from = StartFrom(batch=self.get_batch(from_batch))
        pilot = None
        if first is not None or sample is not None or guids:
            pilot = Pilot(first=first, sample=sample, guids=listed(guids or ""), seed=seed)
        overrides: dict[int, dict] = {}
        for text in override:
            position, name, value = parse_override(text)
            overrides.setdefault(position, {})[name] = value
        refuse_unknown_redis("manage.py start_batch", CommandError)
        try:
            result = batch_start(batch, pilot=pilot, overrides=overrides or None, start_from=start_from)
        except RunnerError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Batch '{batch.name}': {result.sentence}")
        for guid in result.without_input:
            self.stderr.write(f"{guid}: not started, the input batch has no successful output for it.")

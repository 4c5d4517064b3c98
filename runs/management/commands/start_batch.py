import json

from django.core.management.base import CommandError

from runs.management.commands._batch_command import BatchCommand
from runs.services import DEFAULT_PILOT_SEED, Pilot, RunnerError, batch_start


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
            "--seed", type=int, default=DEFAULT_PILOT_SEED, help="The sample's seed (the same seed, the same files)."
        )
        parser.add_argument(
            "--override",
            action="append",
            default=[],
            metavar="POSITION:NAME=VALUE",
            help="Change a step's parameter for this start only, e.g. 1:threshold=0.2 (repeat for more).",
        )

    def handle(self, *args, batch, first, sample, guids, seed, override, **options):
        batch = self.get_batch(batch)
        pilot = None
        if first is not None or sample is not None or guids:
            listed = tuple(dict.fromkeys(guids.replace(",", " ").split())) if guids else ()
            pilot = Pilot(first=first, sample=sample, guids=listed, seed=seed)
        overrides: dict[int, dict] = {}
        for text in override:
            position, name, value = parse_override(text)
            overrides.setdefault(position, {})[name] = value
        try:
            result = batch_start(batch, pilot=pilot, overrides=overrides or None)
        except RunnerError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Batch '{batch.name}': {result.sentence}")
        for guid in result.without_input:
            self.stderr.write(f"{guid}: not started, the input batch has no successful output for it.")

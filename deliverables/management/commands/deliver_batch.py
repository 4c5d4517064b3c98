from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from deliverables.destinations import destination_names
from deliverables.formats import KINDS
from deliverables.services import DeliverablesError, batch_deliver
from runs.management.commands._batch_command import BatchCommand


class Command(BatchCommand):
    help = (
        "Deliver a batch's final MMIF and chosen deliverables to a destination the operator configured, in this "
        "process (the admin and the API deliver in a worker)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--to", required=True, help=f"The destination's name ({', '.join(destination_names())}).")
        parser.add_argument(
            "--kind", action="append", default=[], choices=list(KINDS), help="A deliverable to send; repeat for more."
        )
        parser.add_argument("--user", help="The username the delivery is recorded under.")

    def handle(self, *args, batch, to, kind, user, **options):
        batch = self.get_batch(batch)
        person = None
        if user:
            person = get_user_model().objects.filter(username=user).first()
            if person is None:
                raise CommandError(f"There is no user {user!r}: give an existing username, or leave --user out.")
        try:
            result = batch_deliver(batch, to, kind, person, in_background=False)
        except DeliverablesError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Batch '{batch.name}': {result.sentence}")
        for failure in result.delivery.failures:
            self.stderr.write(failure["problem"])

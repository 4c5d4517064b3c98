"""Signals the runs send, so that apps above them (reports) can act without runs importing them."""

from django.dispatch import Signal

# Sent after commit when a run reaches a final status (succeeded or failed), with ``batch_id`` and ``run_id``;
# and when a cancel ends runs, once per batch, with ``batch_id`` only.
run_finished = Signal()

# Sent after commit when a step succeeds, with ``step_id`` and ``run_id``: the findings index (search) records
# the step's indexing as background work. A receiver runs on the step's path, so it must stay cheap.
step_succeeded = Signal()

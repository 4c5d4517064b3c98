"""Signals the runs send, so that apps above them (reports) can act without runs importing them."""

from django.dispatch import Signal

# Sent after commit when a run reaches a final status (succeeded or failed), with ``batch_id`` and ``run_id``;
# and when a cancel ends runs, once per batch, with ``batch_id`` only.
run_finished = Signal()

"""Signals the runs send, so that apps above them (reports) can act without runs importing them."""

from django.dispatch import Signal

# Sent after commit when a run reaches a final status (succeeded or failed), with ``batch_id`` and ``run_id``.
run_finished = Signal()

"""What a service raises when it refuses an action and changes nothing.

Each app's refusal (``RunnerError``, ``InputsError``, ``DeliverablesError``, ``FormatError``) is a
``Refused``, and its message is the sentence the person sees: the API answers it with 409 Conflict in one
place (api/exceptions.py), the admin's action forms show it above the form (batches/admin.py).
"""


class Refused(Exception):
    """The action cannot be done in the current state; the message says why and what to do instead."""

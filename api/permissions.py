"""Who may do what through the API: the same model permissions as in the admin."""

from rest_framework.permissions import DjangoModelPermissions

READ = ["%(app_label)s.view_%(model_name)s"]


class ModelPermissions(DjangoModelPermissions):
    """``view_<model>`` to read, ``add``/``change``/``delete_<model>`` to write.

    A viewset may name, per action, the permissions that action needs instead, in
    ``action_permissions`` (for example ``{"start": ["batches.run_batch"]}``).
    Anonymous requests are refused (401 with a token challenge).
    """

    perms_map = {**DjangoModelPermissions.perms_map, "GET": READ, "HEAD": READ, "OPTIONS": READ}

    def has_permission(self, request, view) -> bool:
        needed = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if needed is None:
            return super().has_permission(request, view)
        return bool(request.user and request.user.is_authenticated and request.user.has_perms(needed))

from django import template

from reports.activity import active_batches

register = template.Library()


@register.simple_tag(takes_context=True)
def active_batch_summary(context) -> dict | None:
    """The active batches for the admin's first page (None for people who may not see runs)."""
    user = context["request"].user
    if not (user.has_perm("runs.view_run") and user.has_perm("batches.view_batch")):
        return None
    shown, total = active_batches()
    return {"batches": shown, "total": total}


@register.filter
def minutes_left(seconds) -> str:
    if seconds is None:
        return "no estimate yet: these apps have no finished steps"
    if seconds < 90:
        return "about a minute left (estimate)"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"about {minutes} min left (estimate)"
    return f"about {minutes / 60:.1f} h left (estimate)"

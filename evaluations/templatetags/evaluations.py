from django import template

register = template.Library()


@register.filter
def score(value) -> str:
    """A score in [0, 1] as three decimals, or a dash where it divides by nothing."""
    if value is None or value == "":
        return "—"
    return f"{float(value):.3f}"

import json

from django import template

from findings.selectors import media_file_history

register = template.Library()


@register.filter
def seconds(value) -> str:
    """12.3456 → "12.346 s"; None → "—" (a time the view gave in frames without a frame rate)."""
    if value is None or value == "":
        return "—"
    return f"{float(value):.3f} s"


@register.filter
def as_json(value) -> str:
    """A parameter's value as the app got it in JSON: true, 0.02, "both"."""
    return json.dumps(value, ensure_ascii=False)


@register.inclusion_tag("findings/media_history.html")
def media_history(media_file):
    """Every run of the media file across batches, the latest successful MMIF of each pipeline marked."""
    return {"runs": media_file_history(media_file) if media_file is not None else [], "media_file": media_file}

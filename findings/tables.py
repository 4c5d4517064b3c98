"""Annotations as rows a curator can read: times in seconds, text with its length, alignments as pairs."""

from findings.reader import ViewTimes, label_of, short_type

TEXT_PREVIEW = 300
HIDDEN_PROPERTIES = {"id", "@type"}


def text_of(properties: dict) -> str:
    text = properties.get("text")
    if isinstance(text, dict):
        text = text.get("@value", "")
    return str(text or "")


class RowMaker:
    """Turns a page of one view's annotations into rows, with the view's time unit and frame rates."""

    def __init__(self, view: dict, frame_rates: dict, documents: list[dict]):
        self.times = ViewTimes(view.get("contains", {}), frame_rates)
        self.described = {d["id"]: f"{d['type']} {d['id']}" for d in documents}

    def rows(self, annotations: list[dict]) -> list[dict]:
        on_page = {}
        for annotation in annotations:
            properties = annotation.get("properties") or {}
            kind = short_type(annotation.get("@type", ""))
            if kind == "TextDocument":
                on_page[str(properties.get("id"))] = f"“{text_of(properties)[:80]}”"
            else:
                on_page[str(properties.get("id"))] = f"{kind} {properties.get('id')}"
        return [self.row(annotation, on_page) for annotation in annotations]

    def describe(self, reference, on_page: dict) -> str:
        reference = str(reference or "")
        short = reference.rsplit(":", 1)[-1]
        return on_page.get(reference) or self.described.get(reference) or on_page.get(short) or reference

    def row(self, annotation: dict, on_page: dict) -> dict:
        properties = annotation.get("properties") or {}
        kind = short_type(annotation.get("@type", ""))
        row = {"id": properties.get("id", ""), "type": kind}
        if kind == "TimeFrame":
            start, end = self.times.seconds(kind, properties, "start"), self.times.seconds(kind, properties, "end")
            row.update(
                start=start,
                end=end,
                label=label_of(properties) or "",
                frame_type=str(properties.get("frameType") or ""),
                targets=", ".join(map(str, properties.get("targets") or [])),
            )
        elif kind == "TimePoint":
            row.update(start=self.times.seconds(kind, properties, "timePoint"), label=label_of(properties) or "")
        elif kind == "TextDocument":
            text = text_of(properties)
            row.update(text=text, preview=text[:TEXT_PREVIEW], truncated=len(text) > TEXT_PREVIEW)
        elif kind == "Alignment":
            source, target = properties.get("source"), properties.get("target")
            row.update(
                source=str(source or ""),
                target=str(target or ""),
                source_text=self.describe(source, on_page),
                target_text=self.describe(target, on_page),
            )
        row["properties"] = {k: v for k, v in properties.items() if k not in HIDDEN_PROPERTIES}
        return row

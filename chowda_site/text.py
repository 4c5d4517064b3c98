"""Small pieces of the sentences Chowda says, and of the lists people type to it."""


def few(items: list[str], shown: int = 10) -> str:
    """The first ``shown`` items, then how many more: "a, b, c and 12 more"."""
    return ", ".join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")


def listed(text: str) -> tuple[str, ...]:
    """The entries of a list a person typed or pasted (commas, spaces or lines between them), each once, in order."""
    return tuple(dict.fromkeys(text.replace(",", " ").split()))

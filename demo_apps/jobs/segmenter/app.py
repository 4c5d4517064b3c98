"""The demo segmenter in the CLAMS app template's layout, so that cli.py and metadata.py (the template's own) run
it as a command: `python cli.py [--param value ...] -- IN.mmif OUT.mmif`.
The app itself lives in demo_apps/segmenter.py."""

from demo_apps.segmenter import Segmenter


def get_app() -> Segmenter:
    return Segmenter()

"""A batch run by a real CLAMS app on a real worker, with gold for some of its files, for the evaluation tests."""

import io
import zipfile
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from runs.services import batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished

# The tagger (tests/runner_apps.py) adds one TimeFrame, 0 to 1000 seconds, labelled with its "label" parameter.
GOLD = {
    # One gold frame, the tagger's own: matched. P = R = F1 = 1.
    "good": "start,end,scene-label\n00:00:00.000,00:16:40.000,S\n",
    # 0-100 s overlaps the tagger's 0-1000 by IoU 0.1 < 0.5: a miss and an extra; M 200-300 is missed. F1 = 0.
    "bad": "start,end,scene-label\n0,100,S\n200,300,M\n",
    # Its run fails (its media file is missing), so it is listed as such, not scored.
    "failing": "start,end,scene-label\n0,1000,S\n",
}


@dataclass
class Tuned:
    batch: object
    files: dict  # name -> MediaFile


def gold_zip(files: dict, gold: dict = GOLD) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in gold.items():
            archive.writestr(f"{files[name].guid}.csv", text)
    return SimpleUploadedFile("slates-gold.zip", buffer.getvalue(), content_type="application/zip")


def tagged_batch(runner_apps, tmp_path, *, label="speech", name="Pilot") -> Tuned:
    """Four files through the tagger: "good", "bad" and "no_gold" succeed, "failing" fails (no media file)."""
    pipeline = PipelineFactory()
    PipelineStepFactory(
        pipeline=pipeline,
        position=1,
        app=register(runner_apps, "first"),
        parameters={"label": label, "needs_file": True},
    )
    files = {}
    for kind in ("good", "bad", "no_gold", "failing"):
        path = tmp_path / f"{kind}.wav"
        if kind != "failing":
            path.write_bytes(b"RIFF")
        files[kind] = MediaFileFactory(location=f"file://{path}")
    batch = BatchFactory(name=name, pipeline=pipeline, media_files=list(files.values()))
    batch_start(batch)
    wait_until_finished(batch)
    return Tuned(batch, files)

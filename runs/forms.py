"""The start form: which files a start takes (all, or a pilot) and which step parameters it overrides."""

import json

from django import forms

from batches.models import Batch
from chowda_site.text import listed
from pipelines.models import Pipeline
from runs.services import DEFAULT_PILOT_SEED, Pilot, StartFrom

ALL_FILES = "all"
PILOT_CHOICES = [
    (ALL_FILES, "every file still to run"),
    ("first", "a pilot: the first N files, by GUID"),
    ("sample", "a pilot: a random sample of N files"),
    ("guids", "a pilot: the files listed below"),
]


class StartForm(forms.Form):
    """Parses the start choices for one batch; ``pilot`` and ``overrides`` give them to ``batch_start``."""

    # Not required: a confirmation without it (a script, an older page) starts every file, as before.
    files = forms.ChoiceField(
        choices=PILOT_CHOICES, initial=ALL_FILES, required=False, widget=forms.RadioSelect, label="Start"
    )
    size = forms.IntegerField(required=False, min_value=1, label="N", help_text="How many files the pilot takes.")
    seed = forms.IntegerField(
        required=False,
        initial=DEFAULT_PILOT_SEED,
        label="Seed",
        help_text="From the same files still to run, the same seed draws the same sample again.",
    )
    guids = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        label="GUIDs",
        help_text="One per line, or separated by commas or spaces.",
    )

    source = forms.ChoiceField(
        required=False,
        label="Start from",
        choices=[
            ("", "what the batch says (its inputs, input batch or input pipeline; else a blank MMIF)"),
            ("blank", "a blank MMIF of each media file"),
            ("pipeline", "each file's latest MMIF of the pipeline below"),
            ("batch", "the output of the batch below"),
        ],
        widget=forms.RadioSelect,
    )
    source_pipeline = forms.ModelChoiceField(Pipeline.objects.all(), required=False, label="Pipeline")
    source_batch = forms.ModelChoiceField(Batch.objects.order_by("-pk"), required=False, label="Batch")

    def __init__(self, *args, batch: Batch, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source_batch"].queryset = Batch.objects.exclude(pk=batch.pk).order_by("-pk")
        self.steps = list(batch.pipeline.steps.select_related("app").order_by("position")) if batch.pipeline else []
        for step in self.steps:
            self.fields[f"step_{step.position}"] = forms.CharField(
                required=False,
                label=f"Step {step.position} ({step.app.name}): override parameters",
                help_text=(
                    'For this start only, as a JSON object, for example {"threshold": 0.2}. '
                    f"The pipeline's own: {json.dumps(step.parameters) if step.parameters else 'none'}."
                ),
                widget=forms.TextInput(attrs={"size": 60}),
            )

    def clean(self):
        data = super().clean()
        kind = data.get("files")
        if kind in ("first", "sample") and not data.get("size"):
            self.add_error("size", "Say how many files the pilot takes.")
        if kind == "guids" and not self.guid_list():
            self.add_error("guids", "List the GUIDs of the files the pilot takes.")
        source = data.get("source")
        if source == "pipeline" and not data.get("source_pipeline"):
            self.add_error("source_pipeline", "Choose the pipeline whose latest MMIF each file starts from.")
        if source == "batch" and not data.get("source_batch"):
            self.add_error("source_batch", "Choose the batch whose output each file starts from.")
        for step in self.steps:
            name = f"step_{step.position}"
            text = (data.get(name) or "").strip()
            if not text:
                data[name] = {}
                continue
            try:
                values = json.loads(text)
            except ValueError:
                values = None
            if not isinstance(values, dict):
                self.add_error(
                    name,
                    'Write the overrides as a JSON object of parameter names and values, as in {"threshold": 0.2}.',
                )
            else:
                data[name] = values
        return data

    def guid_list(self) -> tuple[str, ...]:
        return listed(self.cleaned_data.get("guids") or "")

    def pilot(self) -> Pilot | None:
        kind = self.cleaned_data.get("files") or ALL_FILES
        if kind == "first":
            return Pilot(first=self.cleaned_data["size"])
        if kind == "sample":
            seed = self.cleaned_data.get("seed")
            return Pilot(sample=self.cleaned_data["size"], seed=DEFAULT_PILOT_SEED if seed is None else seed)
        if kind == "guids":
            return Pilot(guids=self.guid_list())
        return None

    def start_from(self) -> StartFrom | None:
        source = self.cleaned_data.get("source")
        if source == "blank":
            return StartFrom(blank=True)
        if source == "pipeline":
            return StartFrom(pipeline=self.cleaned_data["source_pipeline"])
        if source == "batch":
            return StartFrom(batch=self.cleaned_data["source_batch"])
        return None

    def overrides(self) -> dict[int, dict]:
        return {
            step.position: self.cleaned_data[f"step_{step.position}"]
            for step in self.steps
            if self.cleaned_data.get(f"step_{step.position}")
        }

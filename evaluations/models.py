"""Gold sets (hand-made answers, one file per GUID, in the CLAMS team's aapb-annotations formats) and the
evaluations that score a batch's step against one."""

from django.conf import settings
from django.db import models

from batches.models import Batch, MediaFile


class GoldKind(models.TextChoices):
    TIMEFRAMES = "timeframes", "Time frames (start,end,label)"
    TIMEPOINTS = "timepoints", "Time points (at,label)"
    TRANSCRIPT = "transcript", "Transcript (plain text)"
    OCR = "ocr", "OCR (start,end,text or at,text)"
    NER = "ner", "Named entities (BRAT .ann)"


class Metric(models.TextChoices):
    WER = "wer", "Word error rate (transcripts)"
    CER = "cer", "Character error rate (transcripts)"
    TIMEFRAME_F1 = "timeframe_f1", "Time frames: precision, recall, F1 by overlap"
    TIMEPOINT_F1 = "timepoint_f1", "Time points: precision, recall, F1 within a tolerance"
    OCR_CER = "ocr_cer", "OCR: character error rate per matched frame"
    NER_F1 = "ner_f1", "Named entities: precision, recall, F1 per type"


# Which gold a metric reads: an evaluation of another pairing is refused when it is asked for.
METRIC_GOLD = {
    Metric.WER: GoldKind.TRANSCRIPT,
    Metric.CER: GoldKind.TRANSCRIPT,
    Metric.TIMEFRAME_F1: GoldKind.TIMEFRAMES,
    Metric.TIMEPOINT_F1: GoldKind.TIMEPOINTS,
    Metric.OCR_CER: GoldKind.OCR,
    Metric.NER_F1: GoldKind.NER,
}
# Error rates: lower is better; the rest (F1): higher is better.
LOWER_IS_BETTER = {Metric.WER, Metric.CER, Metric.OCR_CER}


class GoldSet(models.Model):
    """Hand-made answers for some media files, all of one kind, to score apps against."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=GoldKind.choices)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "gold set"

    def __str__(self) -> str:
        return self.name


class GoldFile(models.Model):
    """One media file's gold, kept as the text that was uploaded (checked then, parsed again when scored)."""

    gold_set = models.ForeignKey(GoldSet, on_delete=models.CASCADE, related_name="files")
    media_file = models.ForeignKey(MediaFile, on_delete=models.CASCADE, related_name="gold_files")
    filename = models.CharField(max_length=300)
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gold_set", "media_file"], name="one_gold_file_per_media_file")]
        verbose_name = "gold file"

    def __str__(self) -> str:
        return self.filename


class EvaluationStatus(models.TextChoices):
    """As AMP's MGM evaluation says them: whose fault it is when there is no score."""

    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    INVALID_GOLD = "invalid_gold", "Invalid gold"
    INVALID_PREDICTION = "invalid_prediction", "Invalid prediction"
    FAILED = "failed", "Failed"


ACTIVE_EVALUATION_STATUSES = (EvaluationStatus.PENDING, EvaluationStatus.RUNNING)


class Evaluation(models.Model):
    """One step of a batch scored against a gold set with one metric; its results, per label and per file."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="evaluations")
    gold_set = models.ForeignKey(GoldSet, on_delete=models.PROTECT, related_name="evaluations")
    step = models.PositiveSmallIntegerField(
        help_text="The position of the pipeline step whose output is scored (its views new in that step)."
    )
    app_name = models.CharField(max_length=200, blank=True, help_text="The step's app when the evaluation started.")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    parameters = models.JSONField(default=dict, blank=True)
    label_map = models.JSONField(
        default=dict, blank=True, help_text='The app\'s labels to the gold\'s, as {"speech": "S"}; others stay.'
    )
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=20, choices=EvaluationStatus.choices, default=EvaluationStatus.PENDING)
    sentence = models.TextField(blank=True, help_text="What happened, in a sentence.")
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    aggregate = models.JSONField(default=dict, blank=True)
    per_label = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = "evaluation"

    def __str__(self) -> str:
        return f"{self.get_metric_display()} of {self.batch} step {self.step} on {self.gold_set}"

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER


class FileOutcome(models.TextChoices):
    SCORED = "scored", "Scored"
    NO_GOLD = "no_gold", "No gold"
    RUN_FAILED = "run_failed", "Run failed"
    NOT_RUN = "not_run", "Not run yet"
    INVALID_PREDICTION = "invalid_prediction", "Invalid prediction"
    INVALID_GOLD = "invalid_gold", "Invalid gold"


class EvaluationFile(models.Model):
    """One file's part of an evaluation: its score, or why it has none (no gold is not a zero)."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="files")
    media_file = models.ForeignKey(MediaFile, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey("runs.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    outcome = models.CharField(max_length=20, choices=FileOutcome.choices)
    score = models.FloatField(null=True, blank=True, help_text="The metric's headline number for this file.")
    # What the aggregate and the A/B bootstrap add up: tp/fp/fn, or errors/reference.
    counts = models.JSONField(default=dict, blank=True)
    per_label = models.JSONField(default=dict, blank=True)
    sentence = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "media_file"], name="one_result_per_file_and_evaluation")
        ]
        verbose_name = "evaluation file"

    def __str__(self) -> str:
        return f"{self.media_file_id} in evaluation {self.evaluation_id}"

"""Admin forms for pipeline steps: parameters checked against the app's metadata, positions kept unique."""

from collections import Counter

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Max

from pipelines.models import PipelineStep
from pipelines.validation import step_problems


class PipelineStepForm(forms.ModelForm):
    class Meta:
        model = PipelineStep
        fields = ["position", "app", "parameters"]
        widgets = {"parameters": forms.Textarea(attrs={"rows": 4, "cols": 48})}

    def clean_parameters(self):
        # An emptied textarea means "no parameters", not JSON null.
        parameters = self.cleaned_data.get("parameters")
        return {} if parameters is None else parameters

    def clean(self):
        cleaned_data = super().clean()
        app = cleaned_data.get("app")
        if app is None:
            return cleaned_data
        problems = step_problems(app, cleaned_data.get("parameters", {}))
        for message in problems.app:
            self.add_error("app", message)
        if "parameters" in cleaned_data:
            for messages in problems.parameters.values():
                for message in messages:
                    self.add_error("parameters", message)
        return cleaned_data


class PipelineStepFormSet(forms.BaseInlineFormSet):
    def clean(self):
        """Report steps sharing a position as one sentence, before the database would refuse them."""
        kept = [
            form for form in self.forms if getattr(form, "cleaned_data", None) and not self._should_delete_form(form)
        ]
        counts = Counter(form.cleaned_data.get("position") for form in kept)
        duplicates = sorted(position for position, count in counts.items() if position is not None and count > 1)
        if duplicates:
            shared = ", ".join(str(position) for position in duplicates)
            raise ValidationError(
                f"Two or more steps have the same position ({shared}); give every step its own position."
            )
        super().clean()

    def save(self, commit: bool = True):
        """Save the steps; moving steps to each other's positions (a swap) does not hit the unique constraint."""
        if commit:
            self._park_moving_steps()
        return super().save(commit)

    def _park_moving_steps(self) -> None:
        # Steps are saved one by one, so first move every step that changes position or goes away
        # past every position in use or asked for; each then lands on a free position when saved.
        moving = [
            form.instance.pk
            for form in self.initial_forms
            if "position" in form.changed_data or form in self.deleted_forms
        ]
        if not moving:
            return
        in_use = PipelineStep.objects.filter(pipeline=self.instance).aggregate(last=Max("position"))["last"] or 0
        asked = [form.cleaned_data.get("position") or 0 for form in self.forms if getattr(form, "cleaned_data", None)]
        start = max([in_use, *asked]) + 1
        for offset, pk in enumerate(moving):
            PipelineStep.objects.filter(pk=pk).update(position=start + offset)

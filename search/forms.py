"""What a search asks, read the same way by the page and the API: every mistake is a sentence, and changes nothing."""

from django import forms

from search.selectors import Criteria

MAX_QUERY = 500


class SearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=MAX_QUERY,
        label="Words",
        help_text='Words the apps wrote: "a phrase" in quotes, -word to leave out, or to allow either.',
    )
    label = forms.CharField(required=False, max_length=200, help_text="A TimeFrame or TimePoint label, exactly.")
    app = forms.CharField(required=False, max_length=200, help_text="The app's name, exactly.")
    pipeline = forms.IntegerField(required=False, min_value=1, help_text="A pipeline's id.")
    batch = forms.IntegerField(required=False, min_value=1, help_text="A batch's id.")
    since = forms.DateField(required=False, label="Found from", help_text="YYYY-MM-DD")
    until = forms.DateField(required=False, label="Found until", help_text="YYYY-MM-DD")
    final = forms.BooleanField(required=False, label="Only final MMIF")
    start_from = forms.FloatField(required=False, min_value=0, label="From second", help_text="Seconds into the media.")
    start_to = forms.FloatField(required=False, min_value=0, label="To second")
    page = forms.IntegerField(required=False, min_value=1)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The date range ends before it starts: give an end date after the start.")
        start_from, start_to = data.get("start_from"), data.get("start_to")
        if start_from is not None and start_to is not None and start_from > start_to:
            raise forms.ValidationError(
                "The time range in the media ends before it starts: give a 'to' second after the 'from' second."
            )
        return data

    def asks_something(self) -> bool:
        return self.is_bound and any(
            self.cleaned_data.get(name) not in (None, "", False) for name in self.fields if name != "page"
        )

    def criteria(self) -> Criteria:
        data = self.cleaned_data
        return Criteria(
            q=data["q"].strip(),
            label=data["label"].strip(),
            app=data["app"].strip(),
            pipeline=data["pipeline"],
            batch=data["batch"],
            since=data["since"],
            until=data["until"],
            final=data["final"],
            start_from=data["start_from"],
            start_to=data["start_to"],
        )

    def problems(self) -> str:
        """The form's errors as sentences, each naming its field."""
        said = []
        for name, errors in self.errors.items():
            prefix = "" if name == "__all__" else f"{self.fields[name].label or name.capitalize()}: "
            said.extend(f"{prefix}{error}" for error in errors)
        return " ".join(said)

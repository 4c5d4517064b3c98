from django import forms

from batches.importer import ImportRow, parse_rows
from batches.models import Batch, Collection


class ImportMediaForm(forms.Form):
    """GUIDs pasted or a CSV file uploaded (exactly one), and where to put the imported files."""

    guids = forms.CharField(
        label="GUIDs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80}),
        help_text="One per line, or separated by commas, spaces or semicolons. "
        "You can also paste CSV text whose first line is the header guid,location,mime.",
    )
    csv_file = forms.FileField(
        label="or a CSV file",
        required=False,
        help_text="A header line naming the columns guid, location (optional) and mime (optional), "
        "then one media file per line.",
    )
    batch = forms.ModelChoiceField(Batch.objects.all(), required=False, label="Existing batch")
    new_batch_name = forms.CharField(max_length=200, required=False, label="or a new batch named")
    collection = forms.ModelChoiceField(Collection.objects.all(), required=False, label="Existing collection")
    new_collection_name = forms.CharField(max_length=200, required=False, label="or a new collection named")

    def clean_csv_file(self) -> str:
        """The uploaded file's text ('' if none); it must be UTF-8."""
        upload = self.cleaned_data["csv_file"]
        if not upload:
            return ""
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "The file is not UTF-8 text: save it as CSV UTF-8 and upload it again."
            ) from None

    def clean_new_collection_name(self) -> str:
        name = self.cleaned_data["new_collection_name"]
        if name and Collection.objects.filter(name=name).exists():
            raise forms.ValidationError(
                f"A collection named {name!r} already exists: choose it under “Existing collection”."
            )
        return name

    def clean(self) -> dict:
        data = super().clean()
        if "csv_file" in data and bool(data.get("guids", "").strip()) == bool(self.files.get("csv_file")):
            self.add_error(None, "Paste GUIDs or choose a CSV file (one of the two).")
        if data.get("batch") and data.get("new_batch_name"):
            self.add_error("new_batch_name", "Choose an existing batch or name a new one, not both.")
        if data.get("collection") and data.get("new_collection_name"):
            self.add_error("new_collection_name", "Choose an existing collection or name a new one, not both.")
        return data

    def input_text(self) -> str:
        """The text to import: the uploaded file's, else the pasted one's. Call after is_valid()."""
        return self.cleaned_data["csv_file"] or self.cleaned_data["guids"]

    def rows(self) -> list[ImportRow]:
        """The parsed input (see ``parse_rows``). Call after is_valid()."""
        upload = self.files.get("csv_file")
        return parse_rows(self.input_text(), filename=upload.name if upload else "")

"""Forms of member imports: the file, then where each of its columns goes. They parse input; the services in
``pilots.services.imports`` decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .services.imports import ATTRIBUTE_PREFIX, MAX_UPLOAD_BYTES, mapping_problems


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("List of members"),
        help_text=_(
            "A CSV file (UTF-8, columns separated by commas or semicolons) or an Excel workbook (XLSX), "
            "at most %(mb)s MB, with the column names on the first line."
        )
        % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )


class MappingForm(forms.Form):
    """One choice per column of the file: a profile field, a custom attribute of the panel, or ignore."""

    def __init__(self, *args, panel, columns: list[str], targets, initial_targets: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.panel = panel
        self.columns = columns
        profile = [(t.code, t.label) for t in targets if not t.code.startswith(ATTRIBUTE_PREFIX)]
        custom = [(t.code, t.label) for t in targets if t.code.startswith(ATTRIBUTE_PREFIX)]
        choices = [("", _("Ignore this column")), (_("Profile"), profile)]
        if custom:
            choices.append((_("Questions of this panel"), custom))
        for index, column in enumerate(columns):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=column,
                choices=choices,
                required=False,
                initial=initial_targets[index] if index < len(initial_targets) else "",
            )

    def rows(self):
        """(column name, bound field) for the table of columns."""
        return [(column, self[f"column_{i}"]) for i, column in enumerate(self.columns)]

    def clean(self):
        cleaned = super().clean()
        self.targets = [cleaned.get(f"column_{i}") or "" for i in range(len(self.columns))]
        for problem in mapping_problems(self.targets, self.panel):
            self.add_error(None, problem)
        return cleaned

"""Forms of the results pages: searching and tagging free-text answers, asking for a file, the findings."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AnswerTag, ResultsFile


class AnswerSearchForm(forms.Form):
    q = forms.CharField(label=_("Words in the answer"), required=False, max_length=100)
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=AnswerTag.objects.none(), required=False)

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = AnswerTag.objects.filter(campaign=campaign)
        self.fields["tag"].empty_label = _("Any tag")


class TagForm(forms.Form):
    name = forms.CharField(label=_("Add a tag"), max_length=60)


class ResultsFileForm(forms.Form):
    kind = forms.ChoiceField(label=_("File"), choices=ResultsFile.Kind.choices, widget=forms.RadioSelect)


class FindingsForm(forms.Form):
    key_findings = forms.CharField(
        label=_("Key findings"), widget=forms.Textarea(attrs={"rows": 8}), required=False, max_length=10_000
    )
    recommendations = forms.CharField(
        label=_("Recommendations"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        max_length=10_000,
    )

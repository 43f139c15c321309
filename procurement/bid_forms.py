"""The bid form: one answer per award criterion of the phase (a price in EUR for the price criterion),
a summary, and documents to add or remove. Every field is optional for a draft; submitting checks that
nothing is missing."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .services.bids import TYPE_NAMES


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked (size, type by content) by the bid service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def answer_field(criterion) -> str:
    return f"answer_{criterion.pk}"


class BidForm(forms.Form):
    summary = forms.CharField(
        label=_("Summary of the proposed solution"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args, criteria=(), documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for criterion in self.criteria:
            if criterion.is_price:
                self.fields["price"] = forms.DecimalField(
                    label=_("Price (EUR, excluding VAT) — criterion “%(name)s”") % {"name": criterion.name},
                    required=False,
                    min_value=Decimal("0"),
                    max_digits=14,
                    decimal_places=2,
                    help_text=_(
                        "The total price of your bid for this phase, reflecting the rights you keep."
                    ),
                )
            else:
                self.fields[answer_field(criterion)] = forms.CharField(
                    label=criterion.name,
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 6}),
                    help_text=criterion.description,
                )
        types = ", ".join(TYPE_NAMES.get(t, t) for t in settings.BID_DOCUMENT_TYPES)
        self.fields["documents"] = MultipleFileField(
            label=_("Add documents"),
            required=False,
            help_text=_("%(types)s; at most %(mb)s MB each. The type is checked on the file's content.")
            % {"types": types, "mb": settings.BID_DOCUMENT_MAX_BYTES // (1024 * 1024)},
        )
        if documents:
            self.fields["remove_documents"] = forms.MultipleChoiceField(
                label=_("Remove documents"),
                required=False,
                choices=[(str(d.pk), d.name) for d in documents],
                widget=forms.CheckboxSelectMultiple,
            )

    def answers(self) -> dict[str, str]:
        return {
            str(c.pk): self.cleaned_data.get(answer_field(c)) or "" for c in self.criteria if not c.is_price
        }

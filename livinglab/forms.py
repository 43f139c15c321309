from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ConsentDocumentVersion, Organisation


class SignupDetailsForm(forms.Form):
    """Extra fields on allauth's sign-up form."""

    full_name = forms.CharField(
        label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        help_text=_(
            "Optional. Needed only for studies with age limits; under 16 a parent or guardian consents."
        ),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
    )

    def clean_birth_date(self):
        born = self.cleaned_data.get("birth_date")
        if born and born > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if born and born.year < 1900:
            raise forms.ValidationError(_("Please check the year of birth."))
        return born

    def signup(self, request, user):
        """allauth calls this; the Person is created by the account adapter."""


class AcceptGroundRulesForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("I accept on behalf of"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("Myself only"),
    )
    text_sha256 = forms.CharField(widget=forms.HiddenInput)
    confirm = forms.BooleanField(label=_("I have read these ground rules and agree to follow them."))

    def __init__(self, *args, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = (
            organisations if organisations is not None else Organisation.objects.none()
        )


class GiveConsentForm(forms.Form):
    """One checkbox per purpose, plus a separate explicit confirmation for special-category purposes."""

    method = "online"

    def __init__(self, *args, version: ConsentDocumentVersion, wards=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.purposes = list(version.purposes.all())
        for purpose in self.purposes:
            self.fields[f"purpose_{purpose.pk}"] = forms.BooleanField(
                label=purpose.name, help_text=purpose.description, required=False
            )
            if purpose.special_category:
                self.fields[f"explicit_{purpose.pk}"] = forms.BooleanField(
                    label=_(
                        "I explicitly agree that data about my health may be processed for this purpose."
                    ),
                    required=False,
                )
        if wards:
            choices = [("", _("Myself"))] + [(str(w.pk), w.full_name) for w in wards]
            self.fields["for_person"] = forms.ChoiceField(
                label=_("Consent given for"), choices=choices, required=False
            )

    def purpose_fields(self):
        for purpose in self.purposes:
            explicit = self[f"explicit_{purpose.pk}"] if purpose.special_category else None
            yield purpose, self[f"purpose_{purpose.pk}"], explicit

    def clean(self):
        data = super().clean()
        chosen = [p for p in self.purposes if data.get(f"purpose_{p.pk}")]
        if not chosen:
            raise forms.ValidationError(_("Tick at least one purpose you agree to."))
        for purpose in chosen:
            if purpose.special_category and not data.get(f"explicit_{purpose.pk}"):
                self.add_error(
                    f"explicit_{purpose.pk}",
                    _("Tick this box as well to give explicit consent for “%(purpose)s”.")
                    % {"purpose": purpose.name},
                )
        data["chosen"] = chosen
        data["explicit"] = [p for p in chosen if data.get(f"explicit_{p.pk}")]
        return data

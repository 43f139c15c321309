"""Forms of the holders' and applicants' pages. They parse and check input; services decide."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Person

from .models import Application, HouseholdType, Programme

OTHER_REGION = "__other__"


class ApplicationForm(forms.Form):
    """Apply for a voucher: for whom (guardians), region, postcode, household, date of birth if needed."""

    for_person = forms.ChoiceField(label=_("Who is applying?"), required=True)
    region = forms.CharField(
        label=_("Region where you live"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "address-level1"}),
        error_messages={"required": _("Please tell us the region where you live.")},
    )
    other_region = forms.CharField(
        label=_("If another region: which one?"),
        max_length=100,
        required=False,
        help_text=_("Leave empty if you chose a region from the list."),
        widget=forms.TextInput(attrs={"autocomplete": "address-level1"}),
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
        error_messages={"required": _("Please give your postcode.")},
    )
    household_type = forms.ChoiceField(
        label=_("Your household"),
        choices=[("", _("Choose…")), *HouseholdType.choices],
        error_messages={"required": _("Please choose the kind of household you live in.")},
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        help_text=_("This programme has an age limit. We keep the date of birth with your profile."),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
    )

    def __init__(self, *args, programme: Programme, person: Person, candidates, **kwargs):
        """``candidates``: the people the user may still apply for (themselves and their wards, less
        those who already applied)."""
        super().__init__(*args, **kwargs)
        self.programme, self.person, self.candidates = programme, person, list(candidates)
        if self.candidates != [person]:
            self.fields["for_person"].choices = [
                (
                    str(candidate.pk),
                    _("Myself (%(name)s)") % {"name": candidate.full_name}
                    if candidate.pk == person.pk
                    else candidate.full_name,
                )
                for candidate in self.candidates
            ]
            self.fields["for_person"].help_text = _("You can apply for a person in your care.")
        else:
            del self.fields["for_person"]
        if programme.eligible_regions:
            self.fields["region"] = forms.ChoiceField(
                label=_("Region where you live"),
                error_messages={"required": _("Please choose the region where you live.")},
                choices=[
                    ("", _("Choose…")),
                    *[(region, region) for region in programme.eligible_regions],
                    (OTHER_REGION, _("Another region")),
                ],
            )
        else:
            del self.fields["other_region"]
        age_rule = programme.min_age is not None or programme.max_age is not None
        if not age_rule or all(p.birth_date for p in self.candidates):
            del self.fields["birth_date"]
        elif not any(p.birth_date for p in self.candidates):
            self.fields["birth_date"].required = True
            self.fields["birth_date"].error_messages["required"] = _(
                "Please give the date of birth: this programme has an age limit."
            )

    def clean_birth_date(self):
        born = self.cleaned_data.get("birth_date")
        if born and born > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if born and born.year < 1900:
            raise forms.ValidationError(_("Please check the year of birth."))
        return born

    def clean(self):
        data = super().clean()
        if "for_person" in self.fields:
            choice = data.get("for_person")
            applicant = next((c for c in self.candidates if str(c.pk) == choice), None)
            if applicant is None:
                if "for_person" not in self.errors:
                    self.add_error("for_person", _("Choose yourself or a person in your care."))
                return data
        else:
            applicant = self.candidates[0]
        data["applicant"] = applicant
        if data.get("region") == OTHER_REGION:
            data["region"] = (data.get("other_region") or "").strip() or str(_("a region not on this list"))
        if (
            "birth_date" in self.fields
            and applicant.birth_date is None
            and not data.get("birth_date")
            and "birth_date" not in self.errors
        ):
            self.add_error("birth_date", _("Please give the date of birth: this programme has an age limit."))
        return data


class ApplicationFilterForm(forms.Form):
    """The operator's filter on a programme's applications."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Application.Status.choices]
    )
    q = forms.CharField(label=_("Name contains"), required=False, max_length=100)


class DrawLotteryForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "I understand that the lottery is drawn once, cannot be undone, and that vouchers are issued "
            "to the people drawn at once."
        )
    )


SATISFACTION = [(str(n), str(n)) for n in range(1, 6)]
RECOMMEND = [(str(n), str(n)) for n in range(0, 11)]
YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class FeedbackForm(forms.Form):
    """A fixed short questionnaire (until the campaigns' questionnaire engine exists)."""

    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied are you with the solution?"),
        help_text=_("1 = not at all satisfied, 5 = very satisfied"),
        choices=SATISFACTION,
        coerce=int,
        widget=forms.RadioSelect,
    )
    recommend = forms.TypedChoiceField(
        label=_("How likely are you to recommend it to a friend or neighbour?"),
        help_text=_("0 = not at all likely, 10 = extremely likely"),
        choices=RECOMMEND,
        coerce=int,
        widget=forms.RadioSelect,
    )
    solved_need = forms.TypedChoiceField(
        label=_("Did the solution meet your need?"),
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything else you want to tell us? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

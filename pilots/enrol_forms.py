"""Forms of joining a panel, assisted enrolment, confirmation, profiles and a panel's own questions. They
parse input; the services in ``pilots.services.enrolment`` decide."""

import secrets

from django import forms
from django.core.validators import MaxValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.forms import GiveConsentForm
from livinglab.models import Channel, HouseholdType

from .models import (
    DEFAULT_SHARED,
    SHAREABLE_ATTRIBUTES,
    AccessibilityNeed,
    AttributeKind,
    Device,
    DigitalSkills,
    Language,
    PanelAttribute,
    ParticipantProfile,
    Sector,
    unpack,
)
from .services.enrolment import MAX_SCAN_BYTES, MAX_TEXT_ANSWER, ConsentRoute, clean_options

MULTI_FIELDS = ("languages", "accessibility_needs", "devices", "shared_attributes")
YES_NO = [("true", _("Yes")), ("false", _("No"))]


NOT_SAID = _("Not said")


def _blank(choices, label=NOT_SAID):
    return [("", label), *choices]


def custom_field(attribute: PanelAttribute) -> forms.Field:
    """The form field that asks one of a panel's own questions."""
    common = {"label": attribute.label, "required": attribute.required, "help_text": attribute.help_text}
    options = [(o, o) for o in attribute.option_values()]
    if attribute.kind == AttributeKind.CHOICE:
        if len(options) <= 6:
            return forms.ChoiceField(choices=options, widget=forms.RadioSelect, **common)
        return forms.ChoiceField(choices=_blank(options, _("Choose…")), **common)
    if attribute.kind == AttributeKind.MULTI:
        return forms.MultipleChoiceField(choices=options, widget=forms.CheckboxSelectMultiple, **common)
    if attribute.kind == AttributeKind.NUMBER:
        return forms.DecimalField(
            max_digits=12, decimal_places=2, widget=forms.NumberInput(attrs={"step": "any"}), **common
        )
    if attribute.kind == AttributeKind.BOOLEAN:
        return forms.ChoiceField(choices=YES_NO, widget=forms.RadioSelect, **common)
    return forms.CharField(max_length=MAX_TEXT_ANSWER, **common)


def initial_answer(attribute: PanelAttribute, stored):
    if stored is None:
        return None
    if attribute.kind == AttributeKind.MULTI:
        return unpack(stored.value)
    if attribute.kind == AttributeKind.NUMBER:
        return stored.number.normalize() if stored.number is not None else None
    return stored.value


class ProfileForm(forms.Form):
    """The participant profile, the same on every way in: joining, being enrolled, editing it later. Shows
    the household reference to staff only, the employer for business and public-service panels, the contact
    address to people without a login, and "through our group" to interest groups; plus one field per
    question of the panels concerned (``attributes``)."""

    year_of_birth = forms.IntegerField(
        label=_("Year of birth"),
        min_value=1900,
        help_text=_("Only the year: studies are offered by age band."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "bday-year"}),
    )
    region = forms.CharField(
        label=_("Region"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level1"})
    )
    postcode_area = forms.CharField(
        label=_("Postcode area"),
        max_length=10,
        required=False,
        help_text=_("The first part of the postcode only, for example 35 or SW1."),
    )
    household_type = forms.ChoiceField(
        label=_("Household"),
        required=False,
        choices=_blank([c for c in HouseholdType.choices if c[0] != HouseholdType.BUSINESS]),
    )
    household_key = forms.CharField(
        label=_("Household reference"),
        max_length=64,
        required=False,
        help_text=_(
            "The same reference for people who live together, so that a draw can take one per household."
        ),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages spoken"),
        choices=Language.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    accessibility_needs = forms.MultipleChoiceField(
        label=_("Accessibility needs"),
        choices=AccessibilityNeed.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("So that sessions suit you. Never shown to firms."),
    )
    accessibility_notes = forms.CharField(
        label=_("What helps you take part"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    digital_skills = forms.ChoiceField(
        label=_("Digital skills"), required=False, choices=DigitalSkills.choices, widget=forms.RadioSelect
    )
    devices = forms.MultipleChoiceField(
        label=_("Devices used"), choices=Device.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    occupation = forms.CharField(label=_("Occupation"), max_length=120, required=False)
    sector = forms.ChoiceField(label=_("Sector of work"), required=False, choices=_blank(Sector.choices))
    employer = forms.CharField(
        label=_("Employer"),
        max_length=200,
        required=False,
        help_text=_("For studies with professional users. Never shown to firms without your agreement."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    preferred_contact = forms.ChoiceField(
        label=_("How we contact you"), choices=ParticipantProfile.Contact.choices, widget=forms.RadioSelect
    )
    contact_email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        help_text=_("Where invitations go."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Telephone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel"}),
    )
    shared_attributes = forms.MultipleChoiceField(
        label=_("What firms running a study may see about you"),
        choices=SHAREABLE_ATTRIBUTES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Firms never see your name or contact details; only a code and what you tick here."),
    )

    SECTIONS = [
        (
            "about",
            _("About you"),
            ["year_of_birth", "region", "postcode_area", "household_type", "household_key"],
        ),
        ("languages", _("Languages"), ["languages"]),
        (
            "access",
            _("Access and digital life"),
            ["accessibility_needs", "accessibility_notes", "digital_skills", "devices"],
        ),
        ("work", _("Work"), ["occupation", "sector", "employer"]),
        ("contact", _("Contact"), ["preferred_contact", "contact_email", "phone"]),
        ("sharing", _("What firms may see"), ["shared_attributes"]),
    ]
    ON_BEHALF_LABELS = {
        "about": _("About the person"),
        "accessibility_notes": _("What helps them take part"),
        "preferred_contact": _("How we contact them"),
        "shared_attributes": _("What firms running a study may see about them"),
        "accessibility_needs_help": _("So that sessions suit them. Never shown to firms."),
        "shared_help": _(
            "Firms never see their name or contact details; only a code and what is ticked here."
        ),
    }

    def __init__(
        self,
        *args,
        profile: ParticipantProfile | None = None,
        person=None,
        attributes=(),
        answers=None,
        staff: bool = False,
        show_employer: bool = False,
        ask_email: bool = False,
        group_contact: bool = False,
        require_email: bool = False,
        on_behalf: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.person = person
        self.require_email = require_email
        self.on_behalf = on_behalf
        this_year = timezone.localdate().year
        self.fields["year_of_birth"].validators.append(MaxValueValidator(this_year))
        self.fields["year_of_birth"].widget.attrs["max"] = this_year
        if not staff:
            del self.fields["household_key"]
        if not (show_employer or (profile is not None and profile.employer)):
            del self.fields["employer"]
        if not ask_email:
            del self.fields["contact_email"]
        if not (group_contact or (profile is not None and profile.contact_via_id)):
            self.fields["preferred_contact"].choices = [
                c for c in ParticipantProfile.Contact.choices if c[0] != ParticipantProfile.Contact.GROUP
            ]
        if on_behalf:
            labels = self.ON_BEHALF_LABELS
            for name in ("accessibility_notes", "preferred_contact", "shared_attributes"):
                self.fields[name].label = labels[name]
            self.fields["accessibility_needs"].help_text = labels["accessibility_needs_help"]
            self.fields["shared_attributes"].help_text = labels["shared_help"]
        self._initial_from(profile, person)
        self.attributes = list(attributes)
        answers = answers or {}
        for attribute in self.attributes:
            name = f"attr_{attribute.pk}"
            self.fields[name] = custom_field(attribute)
            self.initial.setdefault(name, initial_answer(attribute, answers.get(attribute.pk)))

    def _initial_from(self, profile, person) -> None:
        if profile is None:
            self.initial.setdefault("shared_attributes", list(DEFAULT_SHARED))
            self.initial.setdefault("preferred_contact", ParticipantProfile.Contact.EMAIL)
            if person is not None and person.birth_date is not None:
                self.initial.setdefault("year_of_birth", person.birth_date.year)
            return
        for name in self.fields:
            value = getattr(profile, name, None)
            if name in MULTI_FIELDS:
                value = unpack(value)
            self.initial.setdefault(name, value)

    # -- rendering

    def sections(self):
        """(key, heading, bound fields) for each part of the profile this form asks."""
        for key, heading, names in self.SECTIONS:
            if self.on_behalf and key == "about":
                heading = self.ON_BEHALF_LABELS["about"]
            fields = [self[name] for name in names if name in self.fields]
            if fields:
                yield key, heading, fields

    def question_groups(self):
        """(panel, bound fields) for the panels' own questions, one group per panel."""
        groups: dict[int, tuple] = {}
        for attribute in self.attributes:
            groups.setdefault(attribute.panel_id, (attribute.panel, []))[1].append(
                self[f"attr_{attribute.pk}"]
            )
        return list(groups.values())

    # -- cleaning

    def clean_year_of_birth(self):
        year = self.cleaned_data["year_of_birth"]
        born = getattr(self.person, "birth_date", None)
        if born is not None and year != born.year:
            raise forms.ValidationError(
                _("The date of birth on record is in %(year)s: please give the same year.")
                % {"year": born.year}
            )
        return year

    def clean_devices(self):
        devices = self.cleaned_data["devices"]
        if Device.NONE in devices and len(devices) > 1:
            raise forms.ValidationError(_("“None of these” cannot go with a device: untick one of them."))
        return devices

    def clean(self):
        data = super().clean()
        preferred = data.get("preferred_contact")
        Contact = ParticipantProfile.Contact
        if preferred == Contact.PHONE and not data.get("phone"):
            self.add_error("phone", _("Give a telephone number, or choose another way to be contacted."))
        if preferred == Contact.EMAIL and self.require_email and not data.get("contact_email"):
            self.add_error(
                "contact_email", _("Give an e-mail address, or choose another way to be contacted.")
            )
        return data

    def profile_data(self) -> dict:
        """What ``save_profile`` takes: every profile field this form asks (multi-choice ones as lists)."""
        return {
            name: self.cleaned_data[name]
            for name in self.fields
            if not name.startswith("attr_") and name in self.cleaned_data
        }

    def answers_for(self, panel_id: int) -> dict:
        """Answers to one panel's questions, keyed by question code, as ``save_answers`` takes them."""
        return {
            a.code: self.cleaned_data.get(f"attr_{a.pk}") for a in self.attributes if a.panel_id == panel_id
        }

    def field_for(self, code: str, panel_id: int) -> str | None:
        """The form field of a question code (to show a service's refusal next to it)."""
        return next(
            (f"attr_{a.pk}" for a in self.attributes if a.code == code and a.panel_id == panel_id), None
        )


def employer_wanted(panels) -> bool:
    return any(p.channel in {Channel.B2B, Channel.B2G} for p in panels)


class PanelConsentForm(GiveConsentForm):
    """The panel's consent form: one tick per purpose and the separate explicit tick for health data. When
    staff record consent given on paper, the ticks say what the person agreed to."""

    def __init__(self, *args, on_behalf: bool = False, required: bool = True, **kwargs):
        kwargs.setdefault("prefix", "consent")
        super().__init__(*args, **kwargs)
        self.required = required
        if on_behalf:
            for purpose in self.purposes:
                if purpose.special_category:
                    self.fields[f"explicit_{purpose.pk}"].label = _(
                        "They explicitly agreed that data about their health may be processed for this "
                        "purpose."
                    )

    def clean(self):
        if not self.required:
            data = forms.Form.clean(self)
            data["chosen"] = [p for p in self.purposes if data.get(f"purpose_{p.pk}")]
            data["explicit"] = [p for p in data["chosen"] if data.get(f"explicit_{p.pk}")]
            return data
        return super().clean()


class EnrolForm(forms.Form):
    """Who is being enrolled, and how their consent is obtained (the profile and consent ticks are the
    other two forms on the page)."""

    full_name = forms.CharField(
        label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    group = forms.ChoiceField(label=_("Enrolling for"), required=False)
    consent_route = forms.ChoiceField(
        label=_("How did the person consent?"), choices=ConsentRoute.choices, widget=forms.RadioSelect
    )
    scan = forms.FileField(
        label=_("Scan of the signed consent form"),
        required=False,
        help_text=_("For consent on paper: a PDF, PNG or JPEG of the signed form, at most %(mb)s MB.")
        % {"mb": MAX_SCAN_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}
        ),
    )
    witness_name = forms.CharField(
        label=_("Witness's name"),
        max_length=200,
        required=False,
        help_text=_("For consent given aloud: the person, other than you, who heard them agree."),
    )
    submission = forms.CharField(widget=forms.HiddenInput, max_length=40)

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.groups = list(groups)
        if len(self.groups) > 1:
            self.fields["group"].choices = [(str(g.pk), g.name) for g in self.groups]
            self.fields["group"].required = True
        else:
            del self.fields["group"]
        self.initial.setdefault("submission", secrets.token_hex(16))

    def clean(self):
        data = super().clean()
        route = data.get("consent_route")
        if route == ConsentRoute.PAPER and not data.get("scan"):
            self.add_error("scan", _("Attach the scan of the signed consent form."))
        if route == ConsentRoute.WITNESSED and not (data.get("witness_name") or "").strip():
            self.add_error("witness_name", _("Give the name of the person who witnessed the consent."))
        return data

    def chosen_group(self):
        if not self.groups:
            return None
        if len(self.groups) == 1:
            return self.groups[0]
        return next((g for g in self.groups if str(g.pk) == self.cleaned_data.get("group")), None)


class RecordConsentForm(forms.Form):
    """Staff record the consent a pending member gave on paper or aloud."""

    route = forms.ChoiceField(
        label=_("How did the person consent?"),
        choices=[c for c in ConsentRoute.choices if c[0] != ConsentRoute.EMAIL],
        widget=forms.RadioSelect,
    )
    scan = EnrolForm.base_fields["scan"]
    witness_name = EnrolForm.base_fields["witness_name"]

    def clean(self):
        data = super().clean()
        if data.get("route") == ConsentRoute.PAPER and not data.get("scan"):
            self.add_error("scan", _("Attach the scan of the signed consent form."))
        if data.get("route") == ConsentRoute.WITNESSED and not (data.get("witness_name") or "").strip():
            self.add_error("witness_name", _("Give the name of the person who witnessed the consent."))
        return data


class AttributeForm(forms.Form):
    """A question staff add to one panel."""

    label = forms.CharField(label=_("Question"), max_length=200)
    code = forms.SlugField(
        label=_("Code"),
        max_length=40,
        help_text=_(
            "Screeners refer to the question by this code (letters, digits, - and _); it cannot change later."
        ),
    )
    kind = forms.ChoiceField(label=_("Answer type"), choices=AttributeKind.choices, widget=forms.RadioSelect)
    options = forms.CharField(
        label=_("Answers to choose from"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("For “one choice” and “several choices”: one answer per line."),
    )
    help_text = forms.CharField(label=_("Help text"), max_length=300, required=False)
    required = forms.BooleanField(label=_("An answer is required"), required=False)
    order = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        max_value=1000,
        initial=0,
        required=False,
        help_text=_("Questions are asked in this order, smallest first."),
    )

    def __init__(self, *args, attribute: PanelAttribute | None = None, **kwargs):
        if attribute is not None:
            kwargs.setdefault(
                "initial",
                {
                    "label": attribute.label,
                    "code": attribute.code,
                    "kind": attribute.kind,
                    "options": "\n".join(attribute.option_values()),
                    "help_text": attribute.help_text,
                    "required": attribute.required,
                    "order": attribute.order,
                },
            )
        super().__init__(*args, **kwargs)
        self.attribute = attribute
        if attribute is not None:
            self.fields["code"].disabled = True
            self.fields["code"].help_text = _("Screeners refer to the question by this code, so it stays.")

    def clean_options(self):
        return clean_options(self.cleaned_data.get("options", ""))


class DeleteAttributeForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, delete this question"))

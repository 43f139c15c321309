"""Forms of the events part. They parse what was typed — dates in the event's own time zone — and the
services in ``livinglab.b2b.services.events`` decide. The on-the-spot lead-user sign-up reuses the panel
enrolment forms of ``pilots`` (who, profile, consent)."""

import re
import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from livinglab.models import Channel
from pilots.enrol_forms import ProfileForm
from pilots.models import Panel
from procurement.call_forms import ServiceModelForm, ZonedDateTimeField

from .models import Event, EventRegistration
from .services.events import EVENT_FIELDS

TIME_ZONES = sorted(zoneinfo.available_timezones())
# A ticket code, on its own or inside the check-in link a scanner types in.
CODE_IN_TEXT = re.compile(r"(?:check-in/)?([A-Za-z0-9_-]{8,32})/?\s*$")


def zone_of(data, instance: Event | None) -> zoneinfo.ZoneInfo:
    """The zone the dates of the form are typed in: the one chosen on the form, else the event's."""
    name = (data or {}).get("time_zone") or (instance.time_zone if instance is not None else "")
    if name not in TIME_ZONES:
        name = settings.TIME_ZONE
    return zoneinfo.ZoneInfo(name)


class EventForm(ServiceModelForm):
    """What staff set on an event. The organiser is chosen when the event is created."""

    organiser = forms.ModelChoiceField(label=_("Organiser"), queryset=None, empty_label=None)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=[(zone, zone) for zone in TIME_ZONES],
        help_text=_("Where the event takes place: its dates are typed and shown in this zone."),
    )

    class Meta:
        model = Event
        fields = list(EVENT_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}
        help_texts = {
            "capacity": _("How many people can come. Registration stops when every place is taken."),
            "registration_closes_at": _("Registration is open until this moment, and closed from it on."),
        }

    def __init__(self, *args, organisers=None, panels=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk or organisers is None:
            del self.fields["organiser"]
        else:
            self.fields["organiser"].queryset = organisers
        self.fields["lead_user_panel"].queryset = (
            panels if panels is not None else Panel.objects.filter(channel=Channel.B2B)
        ).order_by("name")
        self.fields["lead_user_panel"].required = False
        self.fields["lead_user_panel"].empty_label = _("No lead-user sign-up at this event")
        self.fields["time_zone"].initial = self.instance.time_zone if self.instance.pk else settings.TIME_ZONE
        tz = zone_of(self.data if self.is_bound else None, self.instance if self.instance.pk else None)
        for name in ("starts_at", "ends_at", "registration_closes_at"):
            old = self.fields[name]
            self.fields[name] = ZonedDateTimeField(
                tz=tz,
                label=old.label,
                required=True,
                help_text=old.help_text or _("In the event's time zone."),
            )
        self.order_fields(["organiser", *EVENT_FIELDS])

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in EVENT_FIELDS if name in self.cleaned_data}


class RegistrationForm(forms.Form):
    """Who comes: the name on the badge, where the ticket goes, and (for lead users) their work."""

    full_name = forms.CharField(
        label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("Your ticket is sent there."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    organisation = forms.CharField(
        label=_("Organisation"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    job_title = forms.CharField(
        label=_("Job title"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )


class CheckInForm(forms.Form):
    """A ticket code, typed, or read by a scanner that types the QR code's link."""

    code = forms.CharField(
        label=_("Ticket code"),
        max_length=300,
        help_text=_("Type the code printed under the QR code, or scan the QR code with a scanner."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}),
    )

    def clean_code(self):
        text = self.cleaned_data["code"].strip()
        found = CODE_IN_TEXT.search(text)
        return found.group(1) if found else text


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Find an attendee by name or organisation"), max_length=100, required=False)


class LeadUserProfileForm(ProfileForm):
    """The panel profile of a professional: their organisation and job title are asked first."""

    SECTIONS = [
        ("work", _("Their work"), ["employer", "occupation", "sector"]),
        *[section for section in ProfileForm.SECTIONS if section[0] != "work"],
    ]

    def __init__(self, *args, **kwargs):
        kwargs.update(show_employer=True, ask_email=True, staff=True, on_behalf=True)
        super().__init__(*args, **kwargs)
        self.fields["employer"].label = _("Organisation")
        self.fields["employer"].help_text = _("The firm or organisation they work for.")
        self.fields["occupation"].label = _("Job title")


class LeadUserForm(forms.Form):
    """The registration of the person signing up, when they registered for the event."""

    registration = forms.ModelChoiceField(
        label=_("Registered attendee"),
        queryset=EventRegistration.objects.none(),
        required=False,
        empty_label=_("Not registered (walked in)"),
        help_text=_(
            "Links the sign-up to their registration; their name, address and work are used if left blank."
        ),
    )

    def __init__(self, *args, event: Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["registration"].queryset = EventRegistration.objects.filter(
            event=event, status=EventRegistration.Status.REGISTERED
        ).order_by("full_name", "pk")
        self.fields["registration"].label_from_instance = lambda r: (
            f"{r.full_name} ({r.organisation_name})" if r.organisation_name else r.full_name
        )


class FollowUpForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    message = forms.CharField(
        label=_("Message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "Sent once to each attendee who was checked in, by name. Do not put other people's details in it."
        ),
    )


class ConfirmForm(forms.Form):
    """A button that confirms a state change; nothing to type."""

"""Forms of sessions: scheduling one, cancelling it, recording attendance. They only parse; the services in
``pilots.services.sessions`` decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CampaignSession

DATETIME_INPUT = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=DATETIME_INPUT)


class SessionForm(forms.ModelForm):
    """When and where a session takes place, its places and its accessibility."""

    online_url = forms.URLField(
        label=_("online link"),
        required=False,
        assume_scheme="https",
        help_text=_("The video-call link, for an online or hybrid session."),
    )

    class Meta:
        model = CampaignSession
        fields = ["title", "starts_at", "ends_at", "place", "online_url", "capacity", "accessibility_info"]
        widgets = {
            "starts_at": LocalDateTimeInput(),
            "ends_at": LocalDateTimeInput(),
            "accessibility_info": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "place": _("The address people come to. Leave empty for an online session."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = [DATETIME_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The session must end after it starts."))
        if not cleaned.get("place") and not cleaned.get("online_url") and not self.has_error("online_url"):
            self.add_error("place", _("Give the place of the session, an online link, or both."))
        return cleaned

    def _post_clean(self):
        # The service saves and validates the session; the form only parses what was typed.
        pass

    def session_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class CancelSessionForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the session cancelled?"),
        max_length=200,
        required=False,
        help_text=_("Everyone booked or waiting receives this in the cancellation e-mail."),
    )


class AttendanceForm(forms.Form):
    attended = forms.TypedChoiceField(
        label=_("Attendance"),
        choices=[("1", _("Came")), ("0", _("Did not come"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )

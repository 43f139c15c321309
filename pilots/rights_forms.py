"""Forms of the participant's own page: contact preferences and the confirmation of an erasure."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import SHAREABLE_ATTRIBUTES, PanelMembership, ParticipantProfile


class MembershipStatusForm(forms.Form):
    """Pause, resume or leave one panel: only the statuses a participant may choose."""

    status = forms.ChoiceField(
        choices=[
            (s.value, s.label) for s in PanelMembership.Status if s in PanelMembership.PARTICIPANT_STATUSES
        ]
    )


class ContactPreferencesForm(forms.Form):
    preferred_contact = forms.ChoiceField(
        label=_("How should we contact you?"), choices=ParticipantProfile.Contact.choices
    )
    shared_attributes = forms.MultipleChoiceField(
        label=_("What organisations running a study may see about you"),
        help_text=_(
            "They never see your name or contact details, only a code and what you tick here. "
            "You can change this at any time."
        ),
        choices=SHAREABLE_ATTRIBUTES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    @classmethod
    def for_profile(cls, profile: ParticipantProfile, data=None):
        initial = {"preferred_contact": profile.preferred_contact, "shared_attributes": profile.shared}
        return cls(data, initial=initial, prefix="contact")


class ConfirmErasureForm(forms.Form):
    """Erasure cannot be undone: the person types a phrase, and an account holder re-enters their password."""

    phrase = forms.CharField(
        label=_("Type ERASE to confirm"),
        help_text=_("In capital letters. This cannot be undone."),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("Your password"),
        help_text=_("The password you sign in with, to make sure it is you."),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    # The phrase is the same word in every language, so that the label can show it as typed.
    PHRASE = "ERASE"

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():
            del self.fields["password"]

    def clean_phrase(self):
        phrase = self.cleaned_data["phrase"].strip()
        if phrase != self.PHRASE:
            raise forms.ValidationError(_("Type ERASE, in capital letters, to confirm."))
        return phrase

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("This is not your password."))
        return password

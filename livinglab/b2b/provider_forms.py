"""Forms of the provider directory: search, proposal and edit, curation, contact request. They parse
only; ``services.providers`` decides."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from livinglab.models import Organisation

from .models import ContactRequest, Service, ServiceProvider


class ProviderSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Words"),
        required=False,
        max_length=200,
        help_text=_("Searched in the name, the description, the region and the languages."),
    )
    service = forms.ChoiceField(
        label=_("Service"), required=False, choices=[("", _("Any service")), *Service.choices]
    )
    country = forms.ChoiceField(label=_("Country"), required=False)
    region = forms.CharField(label=_("Region"), required=False, max_length=120)

    def __init__(self, *args, country_codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Only the countries asked for are named (translating the whole list costs more than the search).
        listed = sorted(
            ((code, countries.name(code)) for code in set(country_codes) if code), key=lambda c: c[1]
        )
        self.fields["country"].choices = [("", _("Any country")), *listed]

    def filters(self) -> dict:
        """The valid filters (an invalid one is left out and shown as an error)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else getattr(self, "cleaned_data", {})
        return {key: data.get(key) or "" for key in ("q", "service", "country", "region")}


class ProviderForm(forms.Form):
    """A proposal, or a staff member's entry. ``edit``: the e-mail address is never shown; left empty, the
    provider keeps its address."""

    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("What they offer"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Services, typical clients and projects, prices if they publish them."),
    )
    services = forms.MultipleChoiceField(
        label=_("Services"), choices=Service.choices, widget=forms.CheckboxSelectMultiple
    )
    # A callable: the names are translated into the language of each request, not of the first one.
    country = forms.ChoiceField(label=_("Country"), choices=lambda: [("", "—"), *countries])
    region = forms.CharField(label=_("Region"), max_length=120, required=False)
    languages = forms.CharField(
        label=_("Languages"),
        max_length=200,
        required=False,
        help_text=_("For example: English, French, German."),
    )
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    contact_email = forms.EmailField(
        label=_("E-mail address for contact requests"),
        help_text=_("Firms' contact requests are mailed to this address. It is never shown on the platform."),
    )

    def __init__(self, *args, edit: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if edit:
            field = self.fields["contact_email"]
            field.required = False
            field.label = _("New e-mail address for contact requests")
            field.help_text = _(
                "Leave empty to keep the current address. Addresses are never shown on the platform, "
                "not even here."
            )

    @classmethod
    def initial_for(cls, provider: ServiceProvider) -> dict:
        """The provider's values for the edit form, without its e-mail address."""
        return {
            "name": provider.name,
            "description": provider.description,
            "services": [s.service for s in provider.services.all()],
            "country": provider.country.code,
            "region": provider.region,
            "languages": provider.languages,
            "website": provider.website,
        }

    def provider_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("services")
        return data


class CurationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Every status")), *ServiceProvider.Status.choices]
    )
    q = forms.CharField(label=_("Words"), required=False, max_length=200)


class CurationForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Decision"),
        choices=[(ServiceProvider.Status.LISTED, _("List")), (ServiceProvider.Status.HIDDEN, _("Hide"))],
    )
    note = forms.CharField(
        label=_("Note from the cluster"),
        required=False,
        max_length=400,
        help_text=_("Shown on the provider's page while it is listed."),
    )
    # The status the curator saw: the decision applies only if nobody changed it meanwhile.
    seen = forms.ChoiceField(choices=ServiceProvider.Status.choices, widget=forms.HiddenInput)


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class ContactForm(forms.Form):
    organisation = OrganisationChoiceField(label=_("For"), queryset=Organisation.objects.none())
    service = forms.ChoiceField(label=_("Service you are interested in"))
    message = forms.CharField(
        label=_("Your message"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "What you need and by when. The provider receives it by e-mail with your firm's name, your name "
            "and your e-mail address, and answers you directly."
        ),
    )

    def __init__(self, *args, organisations=(), services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(
            pk__in=[o.pk for o in organisations]
        ).order_by("name")
        self.only_organisation = organisations[0] if len(organisations) == 1 else None
        if self.only_organisation is not None:
            # One firm: nothing to choose, so no field to show.
            self.fields["organisation"].required = False
            self.fields["organisation"].widget = forms.HiddenInput()
            self.fields["organisation"].initial = self.only_organisation.pk
        labels = dict(ContactRequest._meta.get_field("service").choices)
        self.fields["service"].choices = [(s, labels.get(s, s)) for s in services]
        if len(services) == 1:
            self.fields["service"].initial = services[0]

    def clean_organisation(self):
        return self.cleaned_data.get("organisation") or self.only_organisation

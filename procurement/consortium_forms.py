"""Forms of the partner-search board and of consortia."""

from django import forms
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .models import Consortium, ConsortiumMember, PartnerPost
from .rules import FIRM_KINDS


def firms_and_research():
    return Organisation.objects.filter(kind__in=FIRM_KINDS).order_by("name")


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class PartnerFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("", _("Every post")), *PartnerPost.Kind.choices],
    )


class PartnerPostForm(forms.Form):
    organisation = OrganisationChoiceField(label=_("Post for"), queryset=Organisation.objects.none())
    kind = forms.ChoiceField(
        label=_("Kind of post"), choices=PartnerPost.Kind.choices, widget=forms.RadioSelect
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    text = forms.CharField(
        label=_("Details"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Capabilities, references, the role you want in a consortium, or what you need."),
    )

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(
            pk__in=[o.pk for o in organisations]
        ).order_by("name")
        if len(organisations) == 1:
            self.fields["organisation"].initial = organisations[0].pk


class FormConsortiumForm(forms.Form):
    lead = OrganisationChoiceField(label=_("Lead organisation"), queryset=Organisation.objects.none())
    name = forms.CharField(label=_("Name of the consortium"), max_length=200)
    agreement_text = forms.CharField(
        label=Consortium._meta.get_field("agreement_text").verbose_name.capitalize(),
        help_text=Consortium._meta.get_field("agreement_text").help_text,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args, leads=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = Organisation.objects.filter(pk__in=[o.pk for o in leads]).order_by(
            "name"
        )
        if len(leads) == 1:
            self.fields["lead"].initial = leads[0].pk


class ProposeConsortiumForm(forms.Form):
    cluster = OrganisationChoiceField(label=_("Proposed by"), queryset=Organisation.objects.none())
    name = forms.CharField(label=_("Name of the consortium"), max_length=200)
    lead = OrganisationChoiceField(label=_("Proposed lead"), queryset=Organisation.objects.none())
    partners = forms.ModelMultipleChoiceField(
        label=_("Proposed partners"),
        queryset=Organisation.objects.none(),
        required=False,
        help_text=_("Hold Ctrl (or Cmd) to choose several."),
    )
    agreement_text = forms.CharField(
        label=_("Draft consortium agreement"),
        help_text=Consortium._meta.get_field("agreement_text").help_text,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args, clusters=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cluster"].queryset = Organisation.objects.filter(
            pk__in=[o.pk for o in clusters]
        ).order_by("name")
        if len(clusters) == 1:
            self.fields["cluster"].initial = clusters[0].pk
        self.fields["lead"].queryset = firms_and_research()
        self.fields["partners"].queryset = firms_and_research()
        self.fields["partners"].label_from_instance = lambda o: o.name


class InviteForm(forms.Form):
    organisation = OrganisationChoiceField(
        label=_("Organisation to invite"), queryset=Organisation.objects.none()
    )
    contribution = forms.CharField(
        label=ConsortiumMember._meta.get_field("contribution").verbose_name.capitalize(),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What this partner would bring to the consortium."),
    )

    def __init__(self, *args, consortium=None, **kwargs):
        super().__init__(*args, **kwargs)
        present = ConsortiumMember.objects.filter(
            consortium=consortium,
            status__in=[
                ConsortiumMember.Status.PROPOSED,
                ConsortiumMember.Status.INVITED,
                ConsortiumMember.Status.ACCEPTED,
            ],
        ).values("organisation_id")
        self.fields["organisation"].queryset = firms_and_research().exclude(pk__in=present)


class AgreementForm(forms.Form):
    agreement_text = forms.CharField(
        label=_("New agreement text"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "Every partner will be asked to accept the new text; until then the consortium is forming."
        ),
    )


class AnswerForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])
    shown_sha256 = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

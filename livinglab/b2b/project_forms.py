"""Forms of co-development projects. They parse; the services in ``services.projects`` decide."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation
from livinglab.policy import FIRM_KINDS

from .models import Project, ProjectPartner
from .services.projects import DOCUMENT_MAX_BYTES, DOCUMENT_TYPES

Role = ProjectPartner.Role


def firms():
    return Organisation.objects.filter(kind__in=FIRM_KINDS).order_by("name", "pk")


def research_organisations():
    return Organisation.objects.filter(kind=Organisation.Kind.RESEARCH).order_by("name", "pk")


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Every status")), *Project.Status.choices]
    )


class ArrangementForm(forms.Form):
    """The goals, IP arrangement and confidentiality of a project."""

    goals = forms.CharField(
        label=_("Goals"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the partners want to achieve together, and by when."),
    )
    ip_ownership = forms.ChoiceField(
        label=_("Who owns the results"), choices=Project.Ownership.choices, widget=forms.RadioSelect
    )
    licence_terms = forms.CharField(
        label=_("Licences"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Who may use which results, for what, and on which terms."),
    )
    exclusivity = forms.ChoiceField(
        label=_("Exclusivity"),
        choices=Project.Exclusivity.choices,
        initial=Project.Exclusivity.NONE,
        widget=forms.RadioSelect,
    )
    exclusivity_until = forms.DateField(
        label=_("Exclusive until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Only with exclusivity; leave empty for no end date."),
    )
    confidentiality = forms.CharField(
        label=_("Confidentiality"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What the partners keep confidential, and for how long."),
    )

    def arrangement(self) -> dict:
        data = self.cleaned_data
        return {name: data.get(name) for name in ArrangementForm.base_fields}


class StartForm(ArrangementForm):
    """Starting a project. From an introduction the buyer and the supplier are the introduction's firms;
    without one (``choose_partners``), the cluster staff name them."""

    field_order = ["title", "started_on", "buyer", "suppliers", "research", "broker"]

    title = forms.CharField(label=_("Title"), max_length=200)
    started_on = forms.DateField(
        label=_("Start date"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    research = forms.ModelMultipleChoiceField(
        label=_("Research organisations"),
        required=False,
        queryset=Organisation.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Optional: universities, research or education organisations taking part."),
    )

    def __init__(self, *args, choose_partners: bool = False, clusters=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["research"].queryset = research_organisations()
        if choose_partners:
            self.fields["buyer"] = forms.ModelChoiceField(
                label=_("Buyer"), queryset=firms(), help_text=_("The firm whose need the project meets.")
            )
            self.fields["suppliers"] = forms.ModelMultipleChoiceField(
                label=_("Suppliers"),
                queryset=firms(),
                widget=forms.CheckboxSelectMultiple,
                help_text=_("The firm that develops the solution, and any others with it."),
            )
            if clusters is not None and len(clusters) > 1:
                self.fields["broker"] = forms.ModelChoiceField(
                    label=_("Cluster organisation following the project"),
                    queryset=Organisation.objects.filter(pk__in=[c.pk for c in clusters]).order_by("name"),
                )
            self.order_fields(self.field_order)

    def partners(self) -> list[tuple[Organisation, str]]:
        data = self.cleaned_data
        chosen = []
        if data.get("buyer") is not None:
            chosen.append((data["buyer"], Role.BUYER))
        chosen += [(organisation, Role.SUPPLIER) for organisation in data.get("suppliers") or ()]
        chosen += [(organisation, Role.RESEARCH) for organisation in data.get("research") or ()]
        return chosen


class PartnerAddForm(forms.Form):
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=Organisation.objects.none())
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(Role.SUPPLIER, Role.SUPPLIER.label), (Role.RESEARCH, Role.RESEARCH.label)],
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = firms().exclude(
            pk__in=project.partners.values("organisation_id")
        )


class PartnerRemoveForm(forms.Form):
    organisation = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class MilestoneForm(forms.Form):
    title = forms.CharField(label=_("Milestone"), max_length=200)
    due_on = forms.DateField(label=_("Due"), widget=forms.DateInput(attrs={"type": "date"}))


class DocumentForm(forms.Form):
    title = forms.CharField(
        label=_("Title"),
        required=False,
        max_length=200,
        help_text=_("Left empty, the file name is used."),
    )
    file = forms.FileField(label=_("File"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("Accepted: %(types)s; at most %(max)s MB.") % {
            "types": ", ".join(DOCUMENT_TYPES.values()),
            "max": DOCUMENT_MAX_BYTES // (1024 * 1024),
        }


class CloseForm(forms.Form):
    status = forms.ChoiceField(
        label=_("How does the project end?"),
        choices=[
            (Project.Status.COMPLETED, _("Completed: the partners reached the goals")),
            (Project.Status.STOPPED, _("Stopped before the goals were reached")),
        ],
        widget=forms.RadioSelect,
    )

"""Forms of campaign requests: the request itself, the lab's review, the list filter and the participant's
acceptance of the terms."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from livinglab.models import Channel, ConsentPurpose, Organisation

from .models import Campaign, CampaignReview, IdeaOwnership, Maturity, Method, Panel
from .screening import attributes_of, condition_problems, quota_problems

REQUESTER_KINDS = [
    Organisation.Kind.SME,
    Organisation.Kind.LARGE_ENTERPRISE,
    Organisation.Kind.RESEARCH,
    Organisation.Kind.PUBLIC_AUTHORITY,
]


def _json_field(label, help_text):
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=help_text,
    )


def _parse_json(raw: str, expected: type, example: str):
    raw = (raw or "").strip()
    if not raw:
        return expected()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValidationError(
            _("The JSON is not valid (line %(line)s, column %(col)s).")
            % {"line": error.lineno, "col": error.colno}
        ) from None
    if not isinstance(value, expected):
        raise ValidationError(_("The JSON must look like %(example)s.") % {"example": example})
    return value


class CampaignForm(forms.ModelForm):
    """Everything a firm asks a living lab for; the screener and quotas may be given as JSON (the same
    form the panel's draw page uses)."""

    methods = forms.MultipleChoiceField(
        label=_("Methods"), choices=Method.choices, widget=forms.CheckboxSelectMultiple
    )
    conditions_json = _json_field(
        _("Screener as JSON (optional)"),
        _(
            'Who is eligible, e.g. {"all": [{"attribute": "age_band", "operator": "in", '
            '"value": ["65-74"]}]}.'
        ),
    )
    quotas_json = _json_field(
        _("Quotas as JSON (optional)"),
        _(
            'Strata and cells, e.g. {"strata": ["age_band"], "quotas": [{"cell": {"age_band": "65-74"}, '
            '"min": 4, "max": 8}]}.'
        ),
    )

    class Meta:
        model = Campaign
        fields = [
            "requested_by",
            "lab",
            "kind",
            "channel",
            "title",
            "partners",
            "product_name",
            "product_description",
            "maturity",
            "objectives",
            "methods",
            "panel",
            "target_participants",
            "required_purposes",
            "incentive",
            "expect_activities",
            "expect_time",
            "expect_benefits",
            "expect_not",
            "expect_risks",
            "idea_ownership",
            "ip_terms",
            "nda_required",
            "confidentiality_terms",
            "firm_ground_rules",
            "involves_health",
            "involves_minors",
            "involves_vulnerable",
            "involves_recordings",
            "retention_months",
            "keep_anonymous_on_withdrawal",
            "recruitment_closes_on",
        ]
        widgets = {
            "channel": forms.RadioSelect,
            "maturity": forms.RadioSelect,
            "idea_ownership": forms.RadioSelect,
            "partners": forms.CheckboxSelectMultiple,
            "required_purposes": forms.CheckboxSelectMultiple,
            "recruitment_closes_on": forms.DateInput(attrs={"type": "date"}),
            **{
                name: forms.Textarea(attrs={"rows": 3})
                for name in (
                    "product_description",
                    "objectives",
                    "expect_activities",
                    "expect_benefits",
                    "expect_not",
                    "expect_risks",
                    "ip_terms",
                    "confidentiality_terms",
                    "firm_ground_rules",
                )
            },
        }

    def __init__(self, *args, requesters, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requested_by"].queryset = requesters
        self.fields["lab"].queryset = Organisation.objects.filter(kind=Organisation.Kind.CLUSTER).order_by(
            "name"
        )
        self.fields["panel"].queryset = Panel.objects.select_related("owner").order_by("name")
        self.fields["panel"].help_text = _("One of the hosting living lab's panels.")
        self.fields["partners"].queryset = Organisation.objects.filter(kind__in=REQUESTER_KINDS).order_by(
            "name"
        )
        self.fields["required_purposes"].queryset = ConsentPurpose.objects.order_by("name")
        self.fields["channel"].choices = Channel.choices
        # Radio buttons need no "---------" choice, nor one ticked in advance.
        self.fields["maturity"].choices = Maturity.choices
        self.fields["idea_ownership"].choices = IdeaOwnership.choices
        if self.instance.pk:
            self.fields["requested_by"].disabled = True
            self.fields["lab"].disabled = True
            self.initial["conditions_json"] = (
                json.dumps(self.instance.conditions, ensure_ascii=False) if self.instance.conditions else ""
            )
            if self.instance.strata or self.instance.quotas:
                self.initial["quotas_json"] = json.dumps(
                    {"strata": self.instance.strata, "quotas": self.instance.quotas}, ensure_ascii=False
                )

    def clean_conditions_json(self):
        return _parse_json(self.cleaned_data.get("conditions_json"), dict, '{"all": […]}')

    def clean_quotas_json(self):
        value = _parse_json(self.cleaned_data.get("quotas_json"), dict, '{"strata": […], "quotas": […]}')
        strata, quotas = value.get("strata", []), value.get("quotas", [])
        if (
            not isinstance(strata, list)
            or not isinstance(quotas, list)
            or not all(isinstance(q, dict) for q in quotas)
        ):
            raise ValidationError(
                _('"strata" must be a list of attribute codes and "quotas" a list of cells.')
            )
        return {"strata": strata, "quotas": quotas}

    def clean(self):
        data = super().clean()
        lab, panel = data.get("lab"), data.get("panel")
        if panel is not None and lab is not None and panel.owner_id != lab.pk:
            self.add_error(
                "panel",
                _("“%(panel)s” is not a panel of %(lab)s: choose one of the hosting lab's panels.")
                % {"panel": panel.name, "lab": lab.name},
            )
            return data
        requester = data.get("requested_by")
        if requester is not None and requester in (data.get("partners") or []):
            self.add_error(
                "partners",
                _("%(org)s requests the campaign: list only the other organisations as partners.")
                % {"org": requester.name},
            )
        if data.get("nda_required") and not (data.get("confidentiality_terms") or "").strip():
            self.add_error(
                "confidentiality_terms",
                _("Say what participants must keep confidential, since an NDA applies."),
            )
        conditions = data.get("conditions_json")
        quotas = data.get("quotas_json")
        if (conditions or (quotas and (quotas["strata"] or quotas["quotas"]))) and panel is None:
            self.add_error("panel", _("A screener or quotas need the panel they apply to."))
            return data
        if panel is not None:
            attributes = attributes_of(panel)
            if conditions is not None:
                for problem in condition_problems(conditions, panel, attributes):
                    self.add_error("conditions_json", problem)
            if quotas is not None and "target_participants" in data:
                for problem in quota_problems(
                    quotas["strata"], quotas["quotas"], data["target_participants"], attributes
                ):
                    self.add_error("quotas_json", problem)
        return data

    def apply(self) -> Campaign:
        """The campaign with the form's values, not saved (the service saves it)."""
        campaign = self.save(commit=False)
        campaign.methods = list(self.cleaned_data["methods"])
        campaign.conditions = self.cleaned_data.get("conditions_json") or {}
        quotas = self.cleaned_data.get("quotas_json") or {"strata": [], "quotas": []}
        campaign.strata, campaign.quotas = quotas["strata"], quotas["quotas"]
        return campaign


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (k, v) for k, v in CampaignReview.Decision.choices if k != CampaignReview.Decision.FAST_TRACK
        ],
        widget=forms.RadioSelect,
    )
    reasons = forms.CharField(
        label=_("Reasons"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Needed to request changes or reject; the requester reads them."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in CampaignReview.CHECKLIST.items():
            self.fields[f"check_{key}"] = forms.BooleanField(label=label, required=False)

    def checklist(self) -> dict:
        return {key: bool(self.cleaned_data.get(f"check_{key}")) for key in CampaignReview.CHECKLIST}

    def checklist_fields(self):
        return [self[f"check_{key}"] for key in CampaignReview.CHECKLIST]


class CampaignFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Campaign.Status.choices]
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("Any channel")), *Channel.choices]
    )


class AcceptTermsForm(forms.Form):
    understood = forms.BooleanField(
        label=_("I have read what taking part involves, what I get and do not get, and the risks."),
        error_messages={"required": _("Tick this box to confirm you have read what taking part involves.")},
    )
    nda_accepted = forms.BooleanField(
        label=_("I accept the confidentiality agreement (NDA) described above."), required=False
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        if not campaign.nda_required:
            del self.fields["nda_accepted"]

"""Forms for running a panel: its settings, member search and status, screeners and draws."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from livinglab.models import ConsentDocument, ConsentPurpose, Organisation

from .models import AgeBand, AttributeKind, Panel, PanelMembership, Screener
from .screening import OPERATOR_LABELS, OPERATORS, Attribute, attributes_of

MAX_ROWS = 8
# First path segments under /panels/ that are pages, not panels.
RESERVED_SLUGS = {
    "new",
    "me",
    "recruit",
    "draws",
    "invitations",
    "confirm",
    "members",
    "consent-scans",
    "erased",
}


class PanelForm(forms.ModelForm):
    class Meta:
        model = Panel
        fields = [
            "owner",
            "name",
            "slug",
            "channel",
            "description",
            "consent_document",
            "recruiting_groups",
            "open_for_sign_up",
            "period_days",
            "max_invitations",
            "max_participations",
            "cooldown_days",
        ]
        widgets = {
            "recruiting_groups": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        if self.instance.pk:
            self.fields["owner"].disabled = True
        self.fields["consent_document"].queryset = ConsentDocument.objects.filter(
            versions__status="published"
        ).distinct()
        self.fields["recruiting_groups"].queryset = Organisation.objects.filter(
            kind=Organisation.Kind.INTEREST_GROUP
        )

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SLUGS:
            raise ValidationError(
                _("“%(slug)s” is used by the site itself: choose another address.") % {"slug": slug}
            )
        return slug


class MemberSearchForm(forms.Form):
    q = forms.CharField(label=_("Name, e-mail or postcode area"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *PanelMembership.Status.choices]
    )
    source = forms.ChoiceField(
        label=_("Recruited"), required=False, choices=[("", _("Any way")), *PanelMembership.Source.choices]
    )
    age_band = forms.ChoiceField(
        label=_("Age band"), required=False, choices=[("", _("Any age")), *AgeBand.choices]
    )


class MemberStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=PanelMembership.Status.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        required=False,
        help_text=_(
            "Kept in the member's history and the audit trail. Do not write names or health details."
        ),
    )


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label=_("Why this member should be considered despite the contact limits"),
        max_length=300,
        help_text=_("Goes to the audit trail. Do not write names or health details."),
    )


# ------------------------------------------------------------------------------------------ screeners


def parse_value(attribute: Attribute, operator: str, text: str):
    """Turn what staff typed into a condition value: choices by code or label, ranges as "65-80"."""
    text = text.strip()
    if attribute.kind in (AttributeKind.CHOICE, AttributeKind.MULTI):
        by_label = {str(label).lower(): value for value, label in attribute.choices}
        values = [v.strip() for v in text.replace(";", ",").split(",") if v.strip()]
        return [by_label.get(v.lower(), v) for v in values]
    if attribute.kind == AttributeKind.NUMBER:
        if operator == "between":
            parts = [p for p in text.replace("–", "-").replace(",", "-").split("-") if p.strip()]
            return [_to_number(p) for p in parts]
        return _to_number(text)
    if attribute.kind == AttributeKind.BOOLEAN:
        return {"yes": True, "true": True, "oui": True, "no": False, "false": False, "non": False}.get(
            text.lower(), text
        )
    return text


def _to_number(text: str):
    try:
        number = float(text.strip().replace(",", "."))
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def value_text(attribute: Attribute | None, value) -> str:
    if isinstance(value, list):
        if attribute is not None and attribute.kind == AttributeKind.NUMBER:
            return "-".join(str(v) for v in value)
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


class ScreenerForm(forms.Form):
    """A screener as rows: rows in the same group are alternatives ("any"), groups must all hold ("all").
    The whole tree can also be edited as JSON for deeper nesting."""

    name = forms.CharField(label=_("Name"), max_length=200)
    conditions_json = forms.CharField(
        label=_("Conditions as JSON (advanced)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("Leave empty to use the rows above. Overrides them when filled in."),
    )

    def __init__(self, *args, panel, **kwargs):
        super().__init__(*args, **kwargs)
        self.panel = panel
        self.attributes = attributes_of(panel)
        attribute_choices = [("", "—")] + [(code, a.label) for code, a in self.attributes.items()]
        operator_choices = [("", "—")] + [(code, label) for code, label in OPERATOR_LABELS.items()]
        self.rows = []
        for i in range(MAX_ROWS):
            self.fields[f"group_{i}"] = forms.IntegerField(
                label=_("Group"), min_value=1, max_value=MAX_ROWS, initial=i + 1, required=False
            )
            self.fields[f"attribute_{i}"] = forms.ChoiceField(
                label=_("Attribute"), choices=attribute_choices, required=False
            )
            self.fields[f"operator_{i}"] = forms.ChoiceField(
                label=_("Comparison"), choices=operator_choices, required=False
            )
            self.fields[f"value_{i}"] = forms.CharField(label=_("Value"), required=False, max_length=300)
            self.rows.append(
                [self[f"group_{i}"], self[f"attribute_{i}"], self[f"operator_{i}"], self[f"value_{i}"]]
            )

    @classmethod
    def initial_for(cls, screener: Screener) -> dict:
        """Fill the rows from a saved screener (two levels); deeper trees stay in the JSON box."""
        initial = {"name": screener.name}
        groups = screener.conditions.get("all", [screener.conditions] if screener.conditions else [])
        rows = []
        for number, group in enumerate(groups, start=1):
            if "attribute" in group:
                rows.append((number, group))
            elif "any" in group and all("attribute" in leaf for leaf in group["any"]):
                rows.extend((number, leaf) for leaf in group["any"])
            else:
                initial["conditions_json"] = json.dumps(screener.conditions, ensure_ascii=False)
                return initial
        if len(rows) > MAX_ROWS:
            initial["conditions_json"] = json.dumps(screener.conditions, ensure_ascii=False)
            return initial
        attributes = attributes_of(screener.panel)
        for i, (number, leaf) in enumerate(rows):
            initial.update(
                {
                    f"group_{i}": number,
                    f"attribute_{i}": leaf["attribute"],
                    f"operator_{i}": leaf["operator"],
                    f"value_{i}": value_text(attributes.get(leaf["attribute"]), leaf["value"]),
                }
            )
        return initial

    def clean(self):
        data = super().clean()
        raw = (data.get("conditions_json") or "").strip()
        if raw:
            try:
                conditions = json.loads(raw)
            except json.JSONDecodeError as error:
                raise ValidationError(
                    _("The JSON is not valid (line %(line)s, column %(col)s).")
                    % {"line": error.lineno, "col": error.colno}
                ) from None
            if not isinstance(conditions, dict):
                raise ValidationError(_('The JSON must be an object such as {"all": […]}.'))
        else:
            groups: dict[int, list] = {}
            for i in range(MAX_ROWS):
                code = data.get(f"attribute_{i}")
                if not code:
                    continue
                operator = data.get(f"operator_{i}") or ""
                attribute = self.attributes[code]
                if not operator:
                    operator = sorted(OPERATORS[attribute.kind])[0]
                leaf = {
                    "attribute": code,
                    "operator": operator,
                    "value": parse_value(attribute, operator, data.get(f"value_{i}") or ""),
                }
                groups.setdefault(data.get(f"group_{i}") or i + 1, []).append(leaf)
            parts = [
                leaves[0] if len(leaves) == 1 else {"any": leaves} for _n, leaves in sorted(groups.items())
            ]
            conditions = {"all": parts} if parts else {}
        data["conditions"] = conditions
        return data


# -------------------------------------------------------------------------------------------- draws


class DrawForm(forms.Form):
    title = forms.CharField(label=_("Study"), max_length=200, help_text=_("As participants will read it."))
    involves = forms.CharField(
        label=_("What taking part involves"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What people will do, where and for how long, what they get, and that it is voluntary."),
    )
    requested_by = forms.ModelChoiceField(
        label=_("For the firm or authority"),
        queryset=Organisation.objects.exclude(
            kind__in=[Organisation.Kind.CLUSTER, Organisation.Kind.INTEREST_GROUP]
        ),
        required=False,
        help_text=_("Its members will see pseudonymous codes and shared attributes only."),
    )
    screener = forms.ModelChoiceField(label=_("Screener"), queryset=Screener.objects.none(), required=False)
    purposes = forms.ModelMultipleChoiceField(
        label=_("Consent the study needs"),
        queryset=ConsentPurpose.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    size = forms.IntegerField(label=_("How many people"), min_value=1, max_value=5000, initial=20)
    strata = forms.MultipleChoiceField(
        label=_("Quotas by"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Up to three. After choosing, press Preview to fill in a minimum and maximum per cell."),
    )
    one_per_household = forms.BooleanField(label=_("At most one person per household"), required=False)
    respond_within_days = forms.IntegerField(
        label=_("Days to answer the invitation"), min_value=1, max_value=60, initial=10
    )
    seed = forms.IntegerField(
        label=_("Seed"),
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        help_text=_("Leave empty for a fresh random seed; the same seed repeats a draw."),
    )

    def __init__(self, *args, panel, cells=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.panel = panel
        self.fields["screener"].queryset = panel.screeners.all()
        self.fields["purposes"].queryset = ConsentPurpose.objects.filter(
            document_versions__document=panel.consent_document, document_versions__status="published"
        ).distinct()
        attributes = attributes_of(panel)
        self.fields["strata"].choices = [
            (code, a.label)
            for code, a in attributes.items()
            if a.kind in (AttributeKind.CHOICE, AttributeKind.BOOLEAN)
        ]
        self.cells = list(cells)
        for i, _cell in enumerate(self.cells):
            self.fields[f"min_{i}"] = forms.IntegerField(
                label=_("Minimum"), min_value=0, initial=0, required=False
            )
            self.fields[f"max_{i}"] = forms.IntegerField(label=_("Maximum"), min_value=0, required=False)

    def quotas(self) -> list[dict]:
        """Cells with a maximum of 0 are left out; an empty maximum means no upper limit."""
        quotas = []
        for i, cell in enumerate(self.cells):
            low = self.cleaned_data.get(f"min_{i}") or 0
            high = self.cleaned_data.get(f"max_{i}")
            if high == 0:
                continue
            quotas.append({"cell": cell, "min": low, "max": high})
        return quotas

    def cell_rows(self):
        return [(cell, self[f"min_{i}"], self[f"max_{i}"]) for i, cell in enumerate(self.cells)]

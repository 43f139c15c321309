"""Forms of a firm's voucher pages: redeeming at the counter, API tokens, solutions, declared aid.

Forms only parse and validate what people type; every change goes through ``vouchers.services``."""

import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .models import CENT, Enrolment, PartnerToken, Programme, Solution

MAX_AMOUNT = Decimal("9999999999.99")


def money(label, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=12,
        decimal_places=2,
        min_value=CENT,
        max_value=MAX_AMOUNT,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        **kwargs,
    )


class RedeemForm(forms.Form):
    """What the cashier types or scans at the counter. The request key, made when the form is shown,
    makes a double click or a resubmission redeem once."""

    code = forms.CharField(
        label=_("Voucher code"),
        max_length=64,
        help_text=_("Type the code or scan the QR code; dashes and spaces do not matter."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )
    purchase_price = money(
        _("Price of the purchase (EUR)"),
        help_text=_("The voucher covers what its programme allows; the holder pays the rest."),
    )
    solution = forms.ModelChoiceField(
        label=_("Solution sold"), queryset=Solution.objects.none(), empty_label=_("Choose a solution")
    )
    holder_name = forms.CharField(
        label=_("Holder's full name or family name"),
        max_length=200,
        help_text=_("Ask the person presenting the voucher; accents and capitals do not matter."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args, firm: Organisation, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("request_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        self.fields["solution"].queryset = approved_solutions(firm)

    def clean_holder_name(self):
        name = " ".join(self.cleaned_data["holder_name"].split())
        if not name:
            raise forms.ValidationError(_("Enter the holder's name."))
        return name


def approved_solutions(firm: Organisation):
    """The firm's solutions approved in at least one programme: what it may sell against a voucher."""
    return (
        Solution.objects.filter(firm=firm, enrolments__status=Enrolment.Status.APPROVED)
        .distinct()
        .order_by("name")
    )


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Which till or system will use it, such as “Shop till 1”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("What the token may do"),
        choices=PartnerToken.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[PartnerToken.Scope.CHECK, PartnerToken.Scope.REDEEM],
    )


class SolutionForm(forms.ModelForm):
    class Meta:
        model = Solution
        fields = ["name", "description", "price", "category"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}


class EnrolForm(forms.Form):
    programme = forms.ModelChoiceField(
        label=_("Programme"), queryset=Programme.objects.none(), empty_label=_("Choose a programme")
    )

    def __init__(self, *args, solution: Solution, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = enrolable_programmes(solution)


def enrolable_programmes(solution: Solution):
    """Programmes that still enrol firms and where ``solution`` has not applied yet."""
    return (
        Programme.objects.filter(status__in=[Programme.Status.DRAFT, Programme.Status.OPEN])
        .exclude(enrolments__solution=solution)
        .order_by("title")
    )


class DeclareAidForm(forms.Form):
    amount = money(_("Amount received (EUR)"))
    granted_on = forms.DateField(
        label=_("Granted on"),
        help_text=_("The day the legal right to the aid arose, as in the grant decision."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    granting_body = forms.CharField(
        label=_("Granting body"),
        max_length=200,
        help_text=_("Who granted the aid, e.g. a region or ministry."),
    )

    def clean_granted_on(self):
        day = self.cleaned_data["granted_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("Declare aid already granted: this date is in the future."))
        return day

    def clean_granting_body(self):
        body = " ".join(self.cleaned_data["granting_body"].split())
        if not body:
            raise forms.ValidationError(_("Name the body that granted the aid."))
        return body

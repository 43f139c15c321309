"""Forms of reimbursement: the firm's claim, the operator's check, the funder's decision, a payment batch.
They parse input; the services in ``vouchers.services.claims`` decide."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import LedgerEntry
from .services.claims import MAX_INVOICE_BYTES, ClaimFieldError, check_invoice, clean_bic, clean_iban

# At most this many redemptions are listed on one claim form; the rest wait for the next claim.
CLAIM_FORM_LIMIT = 200


class RedemptionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, entry: LedgerEntry) -> str:
        return f"{entry.voucher.code[-4:]} · {-entry.amount}"


class ClaimForm(forms.Form):
    redemptions = RedemptionChoiceField(
        label=_("Redemptions to claim"),
        queryset=LedgerEntry.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    claim_all = forms.BooleanField(
        label=_("Claim every redemption listed"),
        required=False,
        help_text=_("Tick this instead of ticking each redemption."),
    )
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=50)
    invoice = forms.FileField(
        label=_("Invoice"),
        help_text=_("Your invoice to the funder for these redemptions: PDF, PNG or JPEG, at most %(mb)s MB.")
        % {"mb": MAX_INVOICE_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}
        ),
    )
    account_holder = forms.CharField(
        label=_("Account holder"),
        max_length=70,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    iban = forms.CharField(
        label=_("IBAN"),
        max_length=50,
        help_text=_(
            "The account the reimbursement is paid to, for example FR76 3000 6000 0112 3456 7890 189."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    bic = forms.CharField(
        label=_("BIC"),
        max_length=20,
        required=False,
        help_text=_("8 or 11 characters; may be left empty for accounts in the SEPA area."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, claimable, **kwargs):
        super().__init__(*args, **kwargs)
        self.listed = list(claimable[:CLAIM_FORM_LIMIT])
        self.fields["redemptions"].queryset = claimable.filter(pk__in=[e.pk for e in self.listed])

    # The service checks all of these again; checking them here shows every problem at once.
    def clean_iban(self):
        try:
            return clean_iban(self.cleaned_data["iban"])
        except ClaimFieldError as error:
            raise forms.ValidationError(error.message) from None

    def clean_bic(self):
        try:
            return clean_bic(self.cleaned_data["bic"])
        except ClaimFieldError as error:
            raise forms.ValidationError(error.message) from None

    def clean_invoice(self):
        invoice = self.cleaned_data["invoice"]
        try:
            check_invoice(invoice)
        except ClaimFieldError as error:
            raise forms.ValidationError(error.message) from None
        return invoice

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("claim_all"):
            cleaned["redemptions"] = self.listed
        elif not cleaned.get("redemptions") and "redemptions" not in self.errors:
            self.add_error("redemptions", _("Choose at least one redemption to claim."))
        return cleaned


class CheckClaimForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Your check"),
        choices=[
            ("check", _("Complete and correct: send it to the funder")),
            ("return", _("Return it to the firm (its redemptions can be claimed again)")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when you return the claim: the firm reads it."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "return" and not (cleaned.get("note") or "").strip():
            self.add_error("note", _("Tell the firm why the claim is returned."))
        return cleaned


class DecideLineForm(forms.Form):
    line = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=2000,
        widget=forms.TextInput,
        help_text=_("Required when you reject the line."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Give the firm a reason for rejecting this line."))
        return cleaned


class ApproveAllForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Approve every line still waiting for a decision"),
        help_text=_(
            "Each line is checked against the de minimis ceiling in turn; a line over it stays waiting."
        ),
    )


class PaymentBatchForm(forms.Form):
    debtor_name = forms.CharField(label=_("Paying account holder"), max_length=70)
    debtor_iban = forms.CharField(label=_("Paying account IBAN"), max_length=50)
    debtor_bic = forms.CharField(label=_("Paying account BIC"), max_length=20, required=False)
    execution_date = forms.DateField(
        label=_("Requested payment date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=timezone.localdate,
    )

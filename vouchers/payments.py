"""A payment batch as files for the funder's bank: a CSV list for people and spreadsheets, and a SEPA
credit transfer (pain.001) for the bank. One transfer per claim; amounts exact to the cent."""

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone
from sepaxml import SepaTransfer

from livinglab.spreadsheets import safe_text

from .models import ZERO, Claim, PaymentBatch, cents, money_sum

# A cell starting with one of these is read as a formula by spreadsheets (CSV injection).


@dataclass(frozen=True)
class Transfer:
    claim: Claim
    amount: Decimal
    lines: int

    @property
    def remittance(self) -> str:
        """The text the firm sees on its bank statement (at most 140 characters)."""
        return f"{self.claim.reference} {self.claim.invoice_number}"[:140]


def transfers(batch: PaymentBatch) -> list[Transfer]:
    """The batch's transfers: one per claim, the sum of its approved lines in the batch."""
    claims = (
        Claim.objects.filter(lines__batch=batch)
        .select_related("firm")
        .annotate(batch_total=money_sum("lines__amount"), batch_lines=Count("lines"))
        .order_by("firm__name", "pk")
    )
    return [Transfer(claim=c, amount=cents(c.batch_total), lines=c.batch_lines) for c in claims]


def batch_total(batch: PaymentBatch) -> Decimal:
    return cents(batch.lines.aggregate(total=money_sum())["total"] or ZERO)


def batch_csv(batch: PaymentBatch) -> bytes:
    """The batch as UTF-8 CSV with a byte-order mark, so that spreadsheets read accents correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "firm",
            "claim_reference",
            "invoice_number",
            "account_holder",
            "iban",
            "bic",
            "amount_eur",
            "remittance_information",
        ]
    )
    for t in transfers(batch):
        writer.writerow(
            [
                safe_text(t.claim.firm.name),
                t.claim.reference,
                safe_text(t.claim.invoice_number),
                safe_text(t.claim.account_holder),
                t.claim.iban,
                t.claim.bic,
                f"{t.amount:.2f}",
                safe_text(t.remittance),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def batch_sepa_xml(batch: PaymentBatch) -> bytes:
    """The batch as a SEPA credit transfer initiation (pain.001.001.03), validated against its schema."""
    config = {
        "name": batch.debtor_name,
        "IBAN": batch.debtor_iban,
        "batch": True,
        "currency": "EUR",
    }
    if batch.debtor_bic:
        config["BIC"] = batch.debtor_bic
    sepa = SepaTransfer(config, clean=True)
    execution_date = max(batch.execution_date or timezone.localdate(), timezone.localdate())
    for t in transfers(batch):
        payment = {
            "name": t.claim.account_holder,
            "IBAN": t.claim.iban,
            "amount": int(t.amount * 100),  # sepaxml wants whole cents
            "execution_date": execution_date,
            "description": t.remittance,
            "endtoend_id": t.claim.reference,
        }
        if t.claim.bic:
            payment["BIC"] = t.claim.bic
        sepa.add_payment(payment)
    return sepa.export(validate=True)


def export_filename(batch: PaymentBatch, extension: str) -> str:
    return f"{batch.reference}.{extension}"

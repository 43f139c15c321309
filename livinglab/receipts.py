"""Receipts people can download: what they consented to, and which ground rules they accepted."""

from django.utils.text import slugify

from .models import ConsentRecord, GroundRulesAcceptance
from .pdf import render_pdf


def consent_receipt(record: ConsentRecord) -> tuple[str, bytes]:
    pdf = render_pdf("pdf/consent_receipt.html", {"record": record, "version": record.version})
    return f"consent-receipt-{record.pk}.pdf", pdf


def ground_rules_receipt(acceptance: GroundRulesAcceptance) -> tuple[str, bytes]:
    pdf = render_pdf(
        "pdf/ground_rules_acceptance.html", {"acceptance": acceptance, "version": acceptance.version}
    )
    return f"ground-rules-{slugify(acceptance.version.rules.title)}-v{acceptance.version.number}.pdf", pdf

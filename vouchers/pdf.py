"""What a holder carries: the voucher as a PDF and its code as a QR code (drawn here, nothing fetched)."""

import segno
from django.utils.translation import gettext as _

from livinglab.pdf import render_pdf

from .models import Enrolment, Voucher


def _qr(voucher: Voucher) -> segno.QRCode:
    # The compact code: upper-case letters and digits fit QR's dense alphanumeric mode.
    return segno.make(voucher.code, error="m", micro=False)


def qr_svg(voucher: Voucher) -> str:
    """The voucher's code as an inline SVG element for a web page (sized by CSS through its viewBox)."""
    return _qr(voucher).svg_inline(
        scale=1, border=4, omitsize=True, title=_("QR code of the voucher code"), svgclass="qr-code"
    )


def qr_data_uri(voucher: Voucher) -> str:
    """The voucher's code as an SVG data URI, for documents rendered by WeasyPrint."""
    return _qr(voucher).svg_data_uri(scale=1, border=4, omitsize=True)


def where_to_use(voucher: Voucher) -> list[Enrolment]:
    """The approved solutions (and their firms) of the voucher's programme."""
    return list(
        Enrolment.objects.filter(programme_id=voucher.programme_id, status=Enrolment.Status.APPROVED)
        .select_related("solution__firm")
        .order_by("solution__firm__name", "solution__name")
    )


def voucher_pdf(voucher: Voucher) -> tuple[str, bytes]:
    """The printable voucher: what it is worth, until when, where it can be used, and its code."""
    voucher = Voucher.objects.select_related("programme__funder", "programme__operator", "holder").get(
        pk=voucher.pk
    )
    pdf = render_pdf(
        "pdf/voucher.html",
        {
            "voucher": voucher,
            "programme": voucher.programme,
            "qr": qr_data_uri(voucher),
            "enrolments": where_to_use(voucher),
        },
    )
    return f"voucher-{voucher.programme.slug}-{voucher.pk}.pdf", pdf

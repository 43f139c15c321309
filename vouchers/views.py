"""What a holder sees of their vouchers: the list, one voucher with its code and history, and its PDF.

Read-only pages: every change to a voucher goes through ``vouchers.services``."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from livinglab.views import paginate, pdf_response

from .models import ZERO, LedgerEntry, Voucher, cents
from .pdf import qr_svg, voucher_pdf, where_to_use
from .templatetags.vouchers_tags import vouchers_of


def _voucher_for(request, pk: int) -> Voucher:
    voucher = get_object_or_404(
        Voucher.objects.select_related("programme__funder", "programme__operator", "holder"), pk=pk
    )
    if not request.user.has_perm("vouchers.open_voucher", voucher):
        raise PermissionDenied(_("This voucher is not yours."))
    return voucher


@login_required
def voucher_list(request):
    return render(
        request, "vouchers/voucher_list.html", {"vouchers": paginate(request, vouchers_of(request.user))}
    )


@login_required
def voucher_detail(request, pk: int):
    voucher = _voucher_for(request, pk)
    entries = list(
        LedgerEntry.objects.filter(voucher=voucher)
        .select_related("firm", "solution", "reverses")
        .order_by("created_at", "pk")
    )
    return render(
        request,
        "vouchers/voucher_detail.html",
        {
            "voucher": voucher,
            "programme": voucher.programme,
            "entries": entries,
            "balance": cents(sum((e.amount for e in entries), ZERO)),
            "qr": qr_svg(voucher),
            "enrolments": where_to_use(voucher),
        },
    )


@login_required
def voucher_pdf_download(request, pk: int):
    voucher = _voucher_for(request, pk)
    return pdf_response(*voucher_pdf(voucher))

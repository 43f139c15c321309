"""De minimis State aid: recording it within the ceiling of the single undertaking."""

from datetime import date

from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Organisation, User

from ..errors import VoucherError
from ..models import (
    DeMinimisAid,
    Programme,
    de_minimis_headroom,
    de_minimis_window,
)
from .common import _eur, _money, _user

# ------------------------------------------------------------------------------------------- State aid


@transaction.atomic
def record_de_minimis_aid(
    organisation: Organisation,
    *,
    amount,
    granted_on: date,
    granting_body: str,
    source: str,
    acting_user: User,
    programme: Programme | None = None,
) -> DeMinimisAid:
    """Record de minimis aid to ``organisation``. Aid a firm declares is recorded as it was received; aid
    granted through a programme is refused where it would take the single undertaking over the
    programme's ceiling in any rolling three-year period that includes ``granted_on``."""
    amount = _money(amount, what=_("aid amount"))
    if source == DeMinimisAid.Source.PROGRAMME:
        if programme is None:
            raise VoucherError(_("Name the programme that grants this aid."))
        undertaking = list(
            Organisation.objects.select_for_update(no_key=True)
            .filter(pk__in=organisation.single_undertaking().values("pk"))
            .order_by("pk")
        )
        # Every window that contains granted_on ends on granted_on or on the day of a later grant.
        later = DeMinimisAid.objects.filter(
            organisation__in=undertaking, granted_on__gt=granted_on
        ).values_list("granted_on", flat=True)
        ends = {granted_on} | {day for day in later if de_minimis_window(day)[0] <= granted_on}
        ceiling = programme.de_minimis_ceiling
        for end in sorted(ends):
            headroom = de_minimis_headroom(organisation, end, ceiling)
            if amount > headroom:
                first, last = de_minimis_window(end)
                raise VoucherError(
                    _(
                        "This aid of %(amount)s EUR would take %(organisation)s and its linked enterprises "
                        "over the de minimis ceiling of %(ceiling)s EUR for %(first)s to %(last)s: only "
                        "%(headroom)s EUR is left."
                    )
                    % {
                        "amount": _eur(amount),
                        "organisation": organisation,
                        "ceiling": _eur(ceiling),
                        "first": formats.date_format(first, "DATE_FORMAT"),
                        "last": formats.date_format(last, "DATE_FORMAT"),
                        "headroom": _eur(headroom),
                    }
                )
    elif source != DeMinimisAid.Source.DECLARED:
        raise VoucherError(_("Unknown source of aid."))
    aid = DeMinimisAid.objects.create(
        organisation=organisation,
        undertaking=organisation.group,
        amount=amount,
        granted_on=granted_on,
        granting_body=granting_body,
        source=source,
        programme=programme,
        created_by=_user(acting_user),
    )
    audit.record(
        "vouchers.deminimisaid.record",
        actor=_user(acting_user),
        obj=aid,
        organisation=organisation,
        data={"amount": str(amount), "granted_on": granted_on.isoformat(), "source": source},
    )
    return aid

from decimal import Decimal

from django import template
from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext as _

from livinglab.models import Organisation, Person

from ..models import Application, Programme, Voucher, amount_text

register = template.Library()

WORKSPACE_LIMIT = 5


@register.filter
def eur(amount) -> str:
    """An amount of money as people read it in their language: ``1,500.00 EUR``."""
    if amount in (None, ""):
        return ""
    return _("%(amount)s EUR") % {"amount": amount_text(amount)}


@register.filter
def percent(rate) -> str:
    """A rate such as 0.5 as ``50 %``."""
    value = (Decimal(rate) * 100).normalize()
    return _("%(rate)s %%") % {"rate": formats.number_format(value, use_l10n=True)}


def held_vouchers(people):
    """Vouchers held by ``people`` (a queryset of persons), newest first, with their balance annotated."""
    return (
        Voucher.objects.filter(holder__in=people.values("pk"))
        .with_balance()
        .select_related("programme", "holder")
        .order_by("-issued_at", "-pk")
    )


def vouchers_of(user):
    """Vouchers held by ``user``'s person or by the people ``user`` is guardian for."""
    return held_vouchers(Person.objects.filter(Q(user=user) | Q(guardianships__guardian__user=user)))


@register.inclusion_tag("vouchers/includes/my_vouchers.html")
def my_vouchers(person):
    """The workspace's "My vouchers": the person's and their wards' latest few, read in one query."""
    if person is None:
        return {"vouchers": [], "more": False}
    people = Person.objects.filter(Q(pk=person.pk) | Q(guardianships__guardian=person))
    vouchers = list(held_vouchers(people)[: WORKSPACE_LIMIT + 1])
    # Applications still waiting for the lottery, or refused: the person can open them to see why.
    applications = (
        Application.objects.filter(
            applicant__in=people.values("pk"),
            status__in=[Application.Status.WAITING, Application.Status.REFUSED],
        )
        .select_related("programme", "applicant")
        .order_by("-submitted_at", "-pk")[:WORKSPACE_LIMIT]
    )
    return {
        "vouchers": vouchers[:WORKSPACE_LIMIT],
        "more": len(vouchers) > WORKSPACE_LIMIT,
        "applications": list(applications),
    }


@register.inclusion_tag("vouchers/includes/organisation_panel.html", takes_context=True)
def organisation_vouchers(context, organisation):
    """The voucher part of an organisation's workspace: a firm's redemptions and claims, the programmes a
    cluster runs or an agency funds."""
    kind = organisation.kind
    programmes = Programme.objects.none()
    if kind == Organisation.Kind.CLUSTER:
        programmes = organisation.operated_programmes.select_related("funder")
    elif kind == Organisation.Kind.FUNDING_AGENCY:
        programmes = organisation.funded_programmes.select_related("operator")
    user = context["request"].user
    rows = [
        (p, user.has_perm("vouchers.run_programme", p), user.has_perm("vouchers.view_programme_reports", p))
        for p in programmes.order_by("-opens_at", "title")[:WORKSPACE_LIMIT]
    ]
    return {
        "request": context["request"],
        "user": user,
        "organisation": organisation,
        "is_firm": kind in (Organisation.Kind.SME, Organisation.Kind.LARGE_ENTERPRISE),
        "programmes": rows,
    }

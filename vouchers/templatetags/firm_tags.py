"""Template helpers of a firm's voucher pages and of its box on the organisation workspace."""

from django import template

from livinglab.models import Organisation

from ..codes import format_code
from ..models import Enrolment, LedgerEntry, PartnerToken, Solution
from ..statements import headroom

register = template.Library()


@register.filter
def masked_code(code: str) -> str:
    """A voucher code with all but its last group and check character hidden: enough to tell sales apart
    without writing a spendable code on a receipt or a list."""
    return "…" + format_code(code)[-6:]


@register.simple_tag(takes_context=True)
def firm_summary(context, organisation: Organisation) -> dict | None:
    """What the firm's box on its workspace shows, or None for someone who does not act for the firm."""
    user = context["request"].user
    if not user.has_perm("vouchers.redeem_for_firm", organisation):
        return None
    enrolments = Enrolment.objects.filter(solution__firm=organisation)
    redemptions = LedgerEntry.objects.filter(firm=organisation, kind=LedgerEntry.Kind.REDEEM)
    return {
        "programmes": enrolments.filter(status=Enrolment.Status.APPROVED)
        .values("programme")
        .distinct()
        .count(),
        "applied": enrolments.filter(status=Enrolment.Status.APPLIED).count(),
        "solutions": Solution.objects.filter(firm=organisation).count(),
        "redemptions": redemptions.filter(reversal__isnull=True).count(),
        "tokens": PartnerToken.objects.filter(firm=organisation, revoked_at__isnull=True).count(),
        "headroom": headroom(organisation) if user.has_perm("vouchers.view_firm_aid", organisation) else None,
        "can_act": user.has_perm("vouchers.act_for_firm", organisation),
        "can_tokens": user.has_perm("vouchers.manage_partner_tokens", organisation),
    }


@register.filter
def negate(amount):
    """A redemption's ledger amount (negative) as the positive sum the voucher paid."""
    return None if amount in (None, "") else -amount


@register.filter
def scope_labels(scopes) -> str:
    """A token's scopes as people read them."""
    labels = dict(PartnerToken.Scope.choices)
    return ", ".join(str(labels.get(scope, scope)) for scope in scopes or [])

"""Wagtail admin for pre-commercial procurement: a read-only listing of bids for cluster staff and platform
administrators. It shows what the authority may know before the deadline (who bid, in which phase, when,
with which status). Only platform administrators see prices, read through the sealed manager once the
deadline has passed: cluster staff broker consortia, so they never read a bidder's price."""

from decimal import Decimal

from django.db.models import BooleanField, DecimalField, OuterRef, Subquery, Value
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import IndexView
from wagtail.admin.viewsets.base import ViewSetGroup

from livinglab.policy import CLUSTER_ROLES, active_memberships, is_cluster_staff, is_platform_admin
from livinglab.viewsets import ReadOnlyViewSet, RulesPolicy

from .models import Bid, BidContent, Procurement
from .services.bids import moment_text


class BidPolicy(RulesPolicy):
    """Cluster staff and platform administrators list bids; nobody adds, changes or deletes one here."""

    def user_has_permission(self, user, action):
        return action in self.actions and (is_platform_admin(user) or is_cluster_staff(user))


class BidIndexView(IndexView):
    def get_base_queryset(self):
        # The sealed manager: no content row before the phase's deadline, whoever asks.
        user = self.request.user
        admin = is_platform_admin(user)
        opened_price = (
            Subquery(BidContent.objects.filter(bid=OuterRef("pk")).values("price")[:1])
            if admin
            else Value(None, output_field=DecimalField())
        )
        queryset = (
            super()
            .get_base_queryset()
            .select_related("phase__procurement", "consortium")
            .annotate(opened_price=opened_price, shows_price=Value(admin, output_field=BooleanField()))
        )
        if admin:
            return queryset
        # Cluster staff see the bids of the procurements their cluster is an intermediary of.
        clusters = {m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES}
        return queryset.filter(phase__procurement__in=Procurement.objects.filter(intermediaries__in=clusters))


def procurement_of(bid: Bid) -> str:
    return bid.phase.procurement.title


def price_or_seal(bid: Bid) -> str:
    phase = bid.phase
    if phase.is_sealed():
        if phase.bid_deadline is None:
            return str(_("Sealed"))
        return str(_("Sealed until %(deadline)s") % {"deadline": moment_text(phase, phase.bid_deadline)})
    if not bid.shows_price:
        return str(_("Opened for the authority"))
    if bid.opened_price is None:
        return "—"
    # SQLite hands a subquery's decimal back without its places.
    return f"{Decimal(bid.opened_price).quantize(Decimal('0.01'))} EUR"


class BidViewSet(ReadOnlyViewSet):
    model = Bid
    name = "pcp_bids"
    url_prefix = "procurement/bids"
    icon = "doc-full"
    menu_label = _("Bids")
    index_view_class = BidIndexView
    inspect_view_enabled = False
    list_display = [
        Column("procurement", label=_("Procurement"), accessor=procurement_of),
        "phase",
        "consortium",
        "status",
        "submitted_at",
        Column(
            "price", label=_("Price (opened after the deadline, for administrators)"), accessor=price_or_seal
        ),
    ]
    list_filter = ["status"]
    ordering = ["-submitted_at", "-pk"]


class ProcurementGroup(ViewSetGroup):
    menu_label = _("Procurement")
    menu_icon = "doc-full"
    menu_order = 320
    items = (BidViewSet,)


# The actions each model supports in the admin, whatever a user's permissions.
POLICIES = {Bid: ("view",)}
POLICY_CLASSES = {Bid: BidPolicy}

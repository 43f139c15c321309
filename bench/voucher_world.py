"""Data the voucher benchmarks share, built through the same services as the screens."""

from datetime import timedelta
from decimal import Decimal


def open_fixed_programme(*, funder, operator, face_value: Decimal, count: int, acting_user):
    """An open programme of fixed-value vouchers with budget for exactly ``count`` of them.
    Call after django.setup()."""
    from django.utils import timezone

    from livinglab.models import Channel
    from vouchers import services
    from vouchers.models import Programme

    now, today = timezone.now(), timezone.localdate()
    programme = services.save_programme(
        Programme(
            funder=funder,
            operator=operator,
            channel=Channel.B2C,
            title="Bench home energy vouchers",
            slug="bench-home-energy-vouchers",
            total_budget=face_value * count,
            value_rule=Programme.ValueRule.FIXED,
            face_value=face_value,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
            valid_from=today - timedelta(days=1),
            valid_until=today + timedelta(days=90),
        ),
        acting_user=acting_user,
    )
    return services.change_programme_status(programme, Programme.Status.OPEN, acting_user=acting_user)

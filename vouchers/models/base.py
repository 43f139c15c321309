"""Innovation vouchers for end-users: a funder's programme run by a cluster organisation, the firms'
solutions enrolled in it, vouchers issued to people, the append-only money ledger, and de minimis aid.

State changes live in ``vouchers.services``. Money is ``Decimal`` with two places; a voucher's balance and
a programme's committed budget are sums of ledger rows, never stored counters.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.files.storage import storages
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Sum
from django.db.models.functions import Coalesce, Round
from django.utils import formats, timezone

from livinglab.models import HouseholdType  # noqa: F401  (re-exported next to the voucher models)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DEFAULT_DE_MINIMIS_CEILING = Decimal("300000.00")  # Regulation (EU) 2023/2831, Art. 3(2)


def money_sum(expression: str = "amount"):
    """SUM of a money column, zero when there are no rows. SQLite adds decimals as floating point: the
    sum is rounded to the cent in SQL (so that filters on it are exact) and again by ``cents``."""
    output = models.DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Round(Sum(expression), 2, output_field=output), ZERO, output_field=output)


def cents(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def amount_text(amount) -> str:
    """An amount in euros as people read it in their language, without the unit: ``1,500.00``."""
    return formats.number_format(Decimal(amount), decimal_pos=2, use_l10n=True, force_grouping=True)


def money_field(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


positive = MinValueValidator(CENT)


def storages_private():
    """Files only the people allowed to see them may download (invoices): never under MEDIA_URL."""
    return storages["private"]


def end_of_day(day: date) -> datetime:
    """The first moment after ``day`` in the platform's time zone."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.get_default_timezone())

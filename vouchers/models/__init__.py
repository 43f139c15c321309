"""The voucher programmes' data, one module per part; everything is importable from ``vouchers.models``."""

from .aid import DeMinimisAid, de_minimis_headroom, de_minimis_total, de_minimis_window, three_years_before
from .applications import Application, Feedback
from .base import (
    CENT,
    DEFAULT_DE_MINIMIS_CEILING,
    ZERO,
    HouseholdType,
    amount_text,
    cents,
    end_of_day,
    money_field,
    money_sum,
    positive,
    storages_private,
)
from .claims import Claim, ClaimLine, PaymentBatch, invoice_path
from .ledger import LedgerEntry, LedgerEntryQuerySet, Voucher, VoucherQuerySet
from .programmes import Enrolment, Programme, Solution
from .tokens import PartnerToken

__all__ = [
    "CENT",
    "DEFAULT_DE_MINIMIS_CEILING",
    "ZERO",
    "Application",
    "Claim",
    "ClaimLine",
    "DeMinimisAid",
    "Enrolment",
    "Feedback",
    "HouseholdType",
    "LedgerEntry",
    "LedgerEntryQuerySet",
    "PartnerToken",
    "PaymentBatch",
    "Programme",
    "Solution",
    "Voucher",
    "VoucherQuerySet",
    "amount_text",
    "cents",
    "de_minimis_headroom",
    "de_minimis_total",
    "de_minimis_window",
    "end_of_day",
    "invoice_path",
    "money_field",
    "money_sum",
    "positive",
    "storages_private",
    "three_years_before",
]

"""A programme's figures for its operator and funder: budget, the ledger over time, redemptions per
solution, firm and region, feedback scores and reimbursement claims.

``programme_report`` reads everything with six aggregate queries (no query per voucher or per row) and
returns plain values and pandas DataFrames; the dashboard, the XLSX export and the PDF report all show
the same figures. Money stays ``Decimal``: sums are rounded to the cent in SQL and again by ``cents``.
No personal data: no holder names, no codes, no comments.
"""

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import (
    ZERO,
    Application,
    ClaimLine,
    Feedback,
    LedgerEntry,
    PaymentBatch,
    Programme,
    Voucher,
    cents,
    money_sum,
)

PERCENT = Decimal("0.1")
SCORE = Decimal("0.01")
K = LedgerEntry.Kind
COMMITTING = set(LedgerEntry.COMMITTING_KINDS)
SPENDING = {K.REDEEM, K.REVERSE}

# The claim lines' states as the report shows them: an approved line is either waiting for payment or paid.
CLAIM_STATES = ("pending", "approved", "paid", "rejected")


@dataclass(frozen=True)
class Headline:
    total_budget: Decimal
    committed: Decimal  # issued value not released by expiry or cancellation (redeemed value included)
    redeemed: Decimal  # spent at firms, net of reversals
    outstanding: Decimal  # on vouchers, not spent yet: committed − redeemed
    reimbursed: Decimal  # approved claim lines (paid or not)
    paid: Decimal  # approved claim lines in a paid payment batch
    remaining: Decimal  # budget not committed


@dataclass(frozen=True)
class ProgrammeReport:
    programme: Programme
    generated_at: object  # aware datetime
    headline: Headline
    vouchers_by_status: list[tuple[str, str, int]]  # (status, label, count), in the model's order
    applications_by_status: list[tuple[str, str, int]]
    vouchers: int
    redeemed_vouchers: int  # vouchers with at least one redemption that was not reversed
    timeline: pd.DataFrame  # day; committed, redeemed, reimbursed — cumulative, days with a movement
    per_solution: pd.DataFrame  # solution, firm, redemptions, vouchers, amount
    per_firm: pd.DataFrame  # firm, redemptions, amount
    per_region: pd.DataFrame  # region, redemptions, vouchers, amount
    feedback: pd.DataFrame  # solution, firm, redeemed_vouchers, responses, response_rate, satisfaction, nps
    feedback_overall: dict
    claims: pd.DataFrame  # state, label, lines, amount


def _rate(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in per cent, to one decimal; None when there is nothing to divide."""
    return (Decimal(part) * 100 / whole).quantize(PERCENT) if whole else None


def _mean(total, count: int) -> Decimal | None:
    return (Decimal(total or 0) / count).quantize(SCORE) if count else None


def net_promoter_score(promoters: int, detractors: int, responses: int) -> Decimal | None:
    """Per cent of 9–10 answers minus per cent of 0–6 answers, from −100 to 100."""
    return (Decimal(promoters - detractors) * 100 / responses).quantize(PERCENT) if responses else None


def _by_status(choices, rows) -> list[tuple[str, str, int]]:
    counts = {}
    for status, n in rows:
        counts[status] = counts.get(status, 0) + n
    return [(value, str(label), counts.get(value, 0)) for value, label in choices]


def programme_report(programme: Programme, *, at=None) -> ProgrammeReport:
    """Every figure of ``programme`` as it stands now, in six aggregate queries."""
    at = at or timezone.now()
    not_known, not_named = _("Not known"), _("Not named")

    # 1. The ledger by day and kind: the headline and the timeline of committed and redeemed value.
    ledger = list(
        LedgerEntry.objects.filter(voucher__programme=programme)
        .annotate(day=TruncDate("created_at"))
        .values("day", "kind")
        .annotate(total=money_sum())
        .order_by()
    )
    # 2. Claim lines by state and decision day: reimbursed and paid amounts, and their timeline.
    lines = list(
        ClaimLine.objects.filter(claim__programme=programme)
        .annotate(day=TruncDate(Coalesce("decided_at", "claim__submitted_at")))
        .values("status", "batch__status", "day")
        .annotate(lines=Count("pk"), total=money_sum())
        .order_by()
    )
    # 3. Vouchers by status, and whether a redemption of theirs still stands.
    spent = LedgerEntry.objects.filter(voucher=OuterRef("pk"), kind=K.REDEEM, reversal__isnull=True)
    vouchers = list(
        Voucher.objects.filter(programme=programme)
        .annotate(used=Exists(spent))
        .values("status", "used")
        .annotate(n=Count("pk"))
        .order_by()
    )
    # 4. Applications by status.
    applications = list(
        Application.objects.filter(programme=programme).values("status").annotate(n=Count("pk")).order_by()
    )
    # 5. Redemptions that stand (not reversed), by solution, firm and the region of the application.
    redemptions = list(
        LedgerEntry.objects.filter(voucher__programme=programme, kind=K.REDEEM, reversal__isnull=True)
        .values("solution_id", "solution__name", "firm_id", "firm__name", "voucher__application__region")
        .annotate(redemptions=Count("pk"), vouchers=Count("voucher", distinct=True), total=money_sum())
        .order_by()
    )
    # 6. Feedback by solution.
    feedback = list(
        Feedback.objects.filter(voucher__programme=programme)
        .values("solution_id", "solution__name", "firm_id", "firm__name")
        .annotate(
            responses=Count("pk"),
            satisfaction=Sum("satisfaction"),
            promoters=Count("pk", filter=Q(recommend__gte=9)),
            detractors=Count("pk", filter=Q(recommend__lte=6)),
        )
        .order_by()
    )

    # ---------------------------------------------------------------------------- headline and timeline
    day_rows = [
        {
            "day": row["day"],
            "committed": cents(row["total"]) if row["kind"] in COMMITTING else ZERO,
            "redeemed": -cents(row["total"]) if row["kind"] in SPENDING else ZERO,
            "reimbursed": ZERO,
        }
        for row in ledger
    ]
    claims = {state: [0, ZERO] for state in CLAIM_STATES}
    for row in lines:
        amount = cents(row["total"])
        state = row["status"]
        if state == ClaimLine.Status.APPROVED:
            if row["batch__status"] == PaymentBatch.Status.PAID:
                state = "paid"
            day_rows.append({"day": row["day"], "committed": ZERO, "redeemed": ZERO, "reimbursed": amount})
        claims[state][0] += row["lines"]
        claims[state][1] += amount
    columns = ["committed", "redeemed", "reimbursed"]
    timeline = pd.DataFrame(day_rows, columns=["day", *columns])
    timeline = timeline.groupby("day", sort=True)[columns].sum().cumsum()
    timeline.index.name = "day"
    for column in columns:
        timeline[column] = timeline[column].map(cents)

    def total(column: str) -> Decimal:
        return timeline[column].iloc[-1] if len(timeline) else ZERO

    committed, redeemed = total("committed"), total("redeemed")
    reimbursed = claims["approved"][1] + claims["paid"][1]
    headline = Headline(
        total_budget=programme.total_budget,
        committed=committed,
        redeemed=redeemed,
        outstanding=committed - redeemed,
        reimbursed=cents(reimbursed),
        paid=cents(claims["paid"][1]),
        remaining=programme.total_budget - committed,
    )
    labels = {
        "pending": _("Waiting for a decision"),
        "approved": _("Approved, not paid yet"),
        "paid": _("Paid"),
        "rejected": _("Rejected"),
    }
    claims_frame = pd.DataFrame(
        [
            {
                "state": state,
                "label": str(labels[state]),
                "lines": claims[state][0],
                "amount": claims[state][1],
            }
            for state in CLAIM_STATES
        ],
        columns=["state", "label", "lines", "amount"],
    )

    # ------------------------------------------------------------------------------------ redemptions
    frame = pd.DataFrame(
        [
            {
                "solution_id": row["solution_id"] or 0,
                "solution": row["solution__name"] or not_named,
                "firm_id": row["firm_id"],
                "firm": row["firm__name"],
                "region": row["voucher__application__region"] or not_known,
                "redemptions": row["redemptions"],
                "vouchers": row["vouchers"],
                "amount": -cents(row["total"]),
            }
            for row in redemptions
        ],
        columns=["solution_id", "solution", "firm_id", "firm", "region", "redemptions", "vouchers", "amount"],
    )

    def grouped(keys: list[str], shown: list[str]) -> pd.DataFrame:
        table = frame.groupby(keys, as_index=False, sort=False)[shown].sum()
        return table.sort_values(["amount", keys[-1]], ascending=[False, True], ignore_index=True)

    # A voucher has one region, so distinct vouchers add up over regions (not over solutions of a firm).
    per_solution = grouped(
        ["solution_id", "firm_id", "solution", "firm"], ["redemptions", "vouchers", "amount"]
    )
    per_firm = grouped(["firm_id", "firm"], ["redemptions", "amount"])
    per_region = grouped(["region"], ["redemptions", "vouchers", "amount"])

    # --------------------------------------------------------------------------------------- feedback
    used = {(row["solution_id"], row["firm_id"]): row for row in per_solution.to_dict("records")}
    answers = {(row["solution_id"] or 0, row["firm_id"]): row for row in feedback}
    feedback_rows = []
    for key in sorted(used.keys() | answers.keys(), key=lambda k: str(_solution_name(k, used, answers))):
        redeemed_here = used.get(key, {}).get("vouchers", 0)
        answer = answers.get(key, {"responses": 0, "satisfaction": 0, "promoters": 0, "detractors": 0})
        feedback_rows.append(
            {
                "solution": _solution_name(key, used, answers) or not_named,
                "firm": used[key]["firm"] if key in used else answer["firm__name"],
                "redeemed_vouchers": redeemed_here,
                "responses": answer["responses"],
                "response_rate": _rate(answer["responses"], redeemed_here),
                "satisfaction": _mean(answer["satisfaction"], answer["responses"]),
                "nps": net_promoter_score(answer["promoters"], answer["detractors"], answer["responses"]),
            }
        )
    feedback_frame = pd.DataFrame(
        feedback_rows,
        columns=[
            "solution",
            "firm",
            "redeemed_vouchers",
            "responses",
            "response_rate",
            "satisfaction",
            "nps",
        ],
    )
    voucher_count = sum(row["n"] for row in vouchers)
    redeemed_vouchers = sum(row["n"] for row in vouchers if row["used"])
    responses = sum(row["responses"] for row in feedback)
    feedback_overall = {
        "redeemed_vouchers": redeemed_vouchers,
        "responses": responses,
        "response_rate": _rate(responses, redeemed_vouchers),
        "satisfaction": _mean(sum(row["satisfaction"] or 0 for row in feedback), responses),
        "nps": net_promoter_score(
            sum(row["promoters"] for row in feedback), sum(row["detractors"] for row in feedback), responses
        ),
    }

    return ProgrammeReport(
        programme=programme,
        generated_at=at,
        headline=headline,
        vouchers_by_status=_by_status(Voucher.Status.choices, [(r["status"], r["n"]) for r in vouchers]),
        applications_by_status=_by_status(
            Application.Status.choices, [(r["status"], r["n"]) for r in applications]
        ),
        vouchers=voucher_count,
        redeemed_vouchers=redeemed_vouchers,
        timeline=timeline,
        per_solution=per_solution.drop(columns=["solution_id", "firm_id"]),
        per_firm=per_firm.drop(columns=["firm_id"]),
        per_region=per_region,
        feedback=feedback_frame,
        feedback_overall=feedback_overall,
        claims=claims_frame,
    )


def _solution_name(key, used: dict, answers: dict) -> str:
    if key in used:
        return used[key]["solution"]
    return answers[key]["solution__name"] or ""


# ------------------------------------------------------------------------------------------------ XLSX

MONEY_FORMAT = "#,##0.00"
DECIMAL_FORMAT = "0.0"
SCORE_FORMAT = "0.00"
DAY_FORMAT = "yyyy-mm-dd"


def column_labels() -> dict[str, str]:
    """The columns' headings in the reader's language."""
    return {
        "figure": _("Figure"),
        "value": _("Value"),
        "day": _("Day"),
        "committed": _("Committed (EUR)"),
        "redeemed": _("Redeemed (EUR)"),
        "reimbursed": _("Reimbursed (EUR)"),
        "solution": _("Solution"),
        "firm": _("Firm"),
        "region": _("Region"),
        "redemptions": _("Redemptions"),
        "vouchers": _("Vouchers"),
        "amount": _("Amount (EUR)"),
        "redeemed_vouchers": _("Vouchers used"),
        "responses": _("Responses"),
        "response_rate": _("Response rate (%)"),
        "satisfaction": _("Mean satisfaction (1 to 5)"),
        "nps": _("Net Promoter Score"),
        "label": _("Claim lines"),
        "lines": _("Lines"),
    }


def headline_rows(report: ProgrammeReport) -> list[tuple[str, str, Decimal]]:
    """(key, label, amount) of the headline money figures, in reading order."""
    h = report.headline
    return [
        ("total_budget", _("Total budget"), h.total_budget),
        ("committed", _("Committed"), h.committed),
        ("redeemed", _("Redeemed"), h.redeemed),
        ("outstanding", _("On vouchers, not spent yet"), h.outstanding),
        ("reimbursed", _("Reimbursement approved"), h.reimbursed),
        ("paid", _("Paid to firms"), h.paid),
        ("remaining", _("Remaining budget"), h.remaining),
    ]


def report_sheets(report: ProgrammeReport) -> dict[str, tuple[pd.DataFrame, dict[str, str]]]:
    """Sheet name → (table, number format per column) for the XLSX export."""
    money, count, rate, score = MONEY_FORMAT, "0", DECIMAL_FORMAT, SCORE_FORMAT
    summary = [(label, amount, money) for _key, label, amount in headline_rows(report)]
    summary += [(_("Vouchers issued"), report.vouchers, count)]
    summary += [
        (_("Vouchers: %(status)s") % {"status": label}, n, count)
        for _s, label, n in report.vouchers_by_status
    ]
    summary += [
        (_("Applications: %(status)s") % {"status": label}, n, count)
        for _s, label, n in report.applications_by_status
    ]
    overall = report.feedback_overall
    summary += [
        (_("Vouchers used"), overall["redeemed_vouchers"], count),
        (_("Feedback responses"), overall["responses"], count),
        (_("Feedback response rate (%)"), overall["response_rate"], rate),
        (_("Mean satisfaction (1 to 5)"), overall["satisfaction"], score),
        (_("Net Promoter Score"), overall["nps"], rate),
    ]
    timeline = report.timeline.reset_index()
    return {
        _("Summary"): (
            pd.DataFrame([(label, value) for label, value, _f in summary], columns=["figure", "value"]),
            {"value": [f for _l, _v, f in summary]},
        ),
        _("Timeline"): (
            timeline,
            {"day": DAY_FORMAT, "committed": money, "redeemed": money, "reimbursed": money},
        ),
        _("Per solution"): (report.per_solution, {"amount": money, "redemptions": count, "vouchers": count}),
        _("Per firm"): (report.per_firm, {"amount": money, "redemptions": count}),
        _("Per region"): (report.per_region, {"amount": money, "redemptions": count, "vouchers": count}),
        _("Feedback"): (
            report.feedback,
            {"response_rate": rate, "satisfaction": score, "nps": rate},
        ),
        _("Claims"): (report.claims.drop(columns=["state"]), {"amount": money, "lines": count}),
    }


def report_xlsx(report: ProgrammeReport) -> bytes:
    """The report as a workbook, one sheet per table; numbers are numbers, money has two decimals."""
    from io import BytesIO

    from openpyxl.utils import get_column_letter

    labels = column_labels()
    buffer = BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, (table, formats) in report_sheets(report).items():
            sheet_name = str(name)[:31]
            table.rename(columns=labels).to_excel(writer, sheet_name=sheet_name, index=False)
            sheet = writer.sheets[sheet_name]
            for i, column in enumerate(table.columns, start=1):
                letter = get_column_letter(i)
                number_format = formats.get(column)
                for row, cell in enumerate(sheet[letter][1:]):
                    fmt = number_format[row] if isinstance(number_format, list) else number_format
                    if fmt and cell.value is not None:
                        cell.number_format = fmt
                width = max([len(str(labels.get(column, column)))] + [len(str(v)) for v in table[column]])
                sheet.column_dimensions[letter].width = min(max(width + 2, 10), 60)
            sheet.freeze_panes = "A2"
    return buffer.getvalue()

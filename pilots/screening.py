"""Screeners and quotas: check them, explain what is wrong, and turn them into SQL.

A screener is a tree of conditions, ``{"all": [...]}`` or ``{"any": [...]}``, whose leaves read
``{"attribute": "age_band", "operator": "in", "value": ["65-74", "75+"]}``. Custom attributes are named
``custom:<code>``. Quotas split the eligible members into cells over one to three *strata* (choice
attributes such as age band × region) with a minimum and maximum per cell.

Everything here builds querysets; nothing loads a panel into Python.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import product

from django.conf import settings
from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab.models import ConsentDocument, ConsentDocumentVersion, ConsentRecord, scope_filter

from .models import (
    FIXED_ATTRIBUTES,
    AgeBand,
    AttributeKind,
    AttributeValue,
    ContactOverride,
    Invitation,
    Panel,
    PanelAttribute,
    PanelMembership,
    Participation,
    age_band_limits,
)

MAX_DEPTH = 4
MAX_CONDITIONS = 40
MAX_STRATA = 3
OPERATORS = {
    AttributeKind.CHOICE: {"in", "not_in"},
    AttributeKind.MULTI: {"any_of", "all_of", "none_of"},
    AttributeKind.NUMBER: {"between", "gte", "lte", "equals"},
    AttributeKind.BOOLEAN: {"is"},
    AttributeKind.TEXT: {"equals", "contains", "startswith"},
}
OPERATOR_LABELS = {
    "in": _("is one of"),
    "not_in": _("is none of"),
    "any_of": _("includes any of"),
    "all_of": _("includes all of"),
    "none_of": _("includes none of"),
    "between": _("is between"),
    "gte": _("is at least"),
    "lte": _("is at most"),
    "equals": _("equals"),
    "is": _("is"),
    "contains": _("contains"),
    "startswith": _("starts with"),
}


@dataclass(frozen=True)
class Attribute:
    """What a screener can ask about one attribute: its kind, its choices, and where it is stored."""

    code: str
    label: str
    kind: str
    choices: tuple = ()
    column: str = ""  # a profile column for fixed attributes
    custom: PanelAttribute | None = None

    def choice_values(self) -> set[str]:
        return {str(v) for v, _label in self.choices}

    def choice_label(self, value) -> str:
        return str(dict(self.choices).get(value, value))


def attributes_of(panel: Panel) -> dict[str, Attribute]:
    """Every attribute a screener over ``panel`` may use, fixed ones first."""
    found = {
        a.code: Attribute(a.code, str(a.label), a.kind, tuple(a.choices), column=a.column)
        for a in FIXED_ATTRIBUTES.values()
    }
    for custom in panel.attributes.all():
        options = tuple((str(o), str(o)) for o in custom.options)
        if custom.kind == AttributeKind.BOOLEAN:
            options = (("true", _("Yes")), ("false", _("No")))
        found[f"custom:{custom.code}"] = Attribute(
            f"custom:{custom.code}", custom.label, custom.kind, options, custom=custom
        )
    return found


# ---------------------------------------------------------------------------------------- validation


def _number(value):
    if isinstance(value, bool):
        raise InvalidOperation
    return Decimal(str(value))


def _leaf_problems(leaf: dict, attributes: dict[str, Attribute]) -> list[str]:
    code, operator, value = leaf.get("attribute"), leaf.get("operator"), leaf.get("value")
    attribute = attributes.get(code)
    if attribute is None:
        return [_("“%(code)s” is not an attribute of this panel.") % {"code": code}]
    if operator not in OPERATORS[attribute.kind]:
        allowed = ", ".join(sorted(str(OPERATOR_LABELS[o]) for o in OPERATORS[attribute.kind]))
        return [
            _("%(attribute)s cannot be compared with “%(operator)s”; use: %(allowed)s.")
            % {"attribute": attribute.label, "operator": operator, "allowed": allowed}
        ]
    name = attribute.label
    if attribute.kind in (AttributeKind.CHOICE, AttributeKind.MULTI):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            return [_("%(attribute)s: choose at least one value.") % {"attribute": name}]
        known = attribute.choice_values()
        unknown = [v for v in value if known and v not in known]
        if unknown:
            return [
                _("%(attribute)s has no value %(values)s.")
                % {"attribute": name, "values": ", ".join(f"“{v}”" for v in unknown)}
            ]
        return []
    if attribute.kind == AttributeKind.NUMBER:
        try:
            if operator == "between":
                if not isinstance(value, list) or len(value) != 2:
                    raise InvalidOperation
                low, high = (_number(v) for v in value)
                if low > high:
                    return [
                        _("%(attribute)s: the range %(low)s–%(high)s is empty.")
                        % {"attribute": name, "low": value[0], "high": value[1]}
                    ]
            else:
                _number(value)
        except (InvalidOperation, TypeError, ValueError):
            return [_("%(attribute)s needs a number (two for a range).") % {"attribute": name}]
        return []
    if attribute.kind == AttributeKind.BOOLEAN:
        return (
            [] if isinstance(value, bool) else [_("%(attribute)s: answer yes or no.") % {"attribute": name}]
        )
    if not isinstance(value, str) or not value.strip():
        return [_("%(attribute)s: type the text to look for.") % {"attribute": name}]
    return []


def _interval(leaf: dict, attribute: Attribute) -> tuple[Decimal, Decimal] | None:
    """The numeric range a leaf allows (ages for age bands), to find contradictions."""
    value, operator = leaf["value"], leaf["operator"]
    if attribute.code == "age_band" and operator == "in":
        limits = [age_band_limits(v) for v in value]
        return Decimal(min(lo for lo, _h in limits)), Decimal(
            max(h if h is not None else 150 for _l, h in limits)
        )
    if attribute.kind != AttributeKind.NUMBER:
        return None
    if operator == "between":
        return _number(value[0]), _number(value[1])
    bound = _number(value)
    return {
        "gte": (bound, Decimal("Infinity")),
        "lte": (Decimal("-Infinity"), bound),
        "equals": (bound, bound),
    }[operator]


def _contradictions(leaves: list[dict], attributes: dict[str, Attribute]) -> list[str]:
    """Conditions joined by "all" that no one can meet together."""
    problems = []
    by_attribute: dict[str, list[dict]] = {}
    for leaf in leaves:
        by_attribute.setdefault(leaf["attribute"], []).append(leaf)
    ages = [
        (leaf, attributes[leaf["attribute"]]) for leaf in leaves if leaf["attribute"] in ("age", "age_band")
    ]
    age_ranges = [r for r in (_interval(leaf, a) for leaf, a in ages) if r is not None]
    if age_ranges and max(lo for lo, _h in age_ranges) > min(hi for _l, hi in age_ranges):
        problems.append(_("The age conditions contradict each other: no age meets them all."))
    for code, group in by_attribute.items():
        if len(group) < 2 or code in ("age", "age_band"):
            continue
        attribute = attributes[code]
        name = attribute.label
        if attribute.kind == AttributeKind.CHOICE:
            allowed = set(attribute.choice_values()) or {v for leaf in group for v in leaf["value"]}
            for leaf in group:
                allowed = (
                    allowed & set(leaf["value"]) if leaf["operator"] == "in" else allowed - set(leaf["value"])
                )
            if not allowed:
                problems.append(
                    _("The conditions on %(attribute)s contradict each other.") % {"attribute": name}
                )
        elif attribute.kind == AttributeKind.MULTI:
            required = {v for leaf in group if leaf["operator"] == "all_of" for v in leaf["value"]}
            excluded = {v for leaf in group if leaf["operator"] == "none_of" for v in leaf["value"]}
            if required & excluded:
                problems.append(
                    _("%(attribute)s must both include and exclude %(values)s.")
                    % {"attribute": name, "values": ", ".join(sorted(required & excluded))}
                )
        elif attribute.kind == AttributeKind.NUMBER:
            ranges = [_interval(leaf, attribute) for leaf in group]
            if max(lo for lo, _h in ranges) > min(hi for _l, hi in ranges):
                problems.append(
                    _("The conditions on %(attribute)s contradict each other.") % {"attribute": name}
                )
        elif attribute.kind == AttributeKind.BOOLEAN:
            if len({leaf["value"] for leaf in group}) > 1:
                problems.append(_("%(attribute)s cannot be both yes and no.") % {"attribute": name})
        elif attribute.kind == AttributeKind.TEXT:
            exact = {leaf["value"].strip().lower() for leaf in group if leaf["operator"] == "equals"}
            if len(exact) > 1:
                problems.append(_("%(attribute)s cannot equal two different texts.") % {"attribute": name})
    return problems


def condition_problems(conditions: dict, panel: Panel, attributes: dict | None = None) -> list[str]:
    """Everything wrong with a screener, in words staff can act on; empty when it can be used."""
    attributes = attributes if attributes is not None else attributes_of(panel)
    if not conditions:
        return []  # no screener: everybody in the panel
    problems: list[str] = []
    count = 0

    def walk(node, depth):
        nonlocal count
        if not isinstance(node, dict):
            problems.append(_("A condition is not in the expected form."))
            return
        group = [k for k in ("all", "any") if k in node]
        if group:
            children = node[group[0]]
            if depth > MAX_DEPTH:
                problems.append(_("Conditions are nested more than %(n)s levels deep.") % {"n": MAX_DEPTH})
                return
            if not isinstance(children, list) or not children:
                problems.append(_("A group of conditions is empty."))
                return
            for child in children:
                walk(child, depth + 1)
            if group[0] == "all":
                leaves = [c for c in children if isinstance(c, dict) and "attribute" in c]
                if leaves and not any(_leaf_problems(leaf, attributes) for leaf in leaves):
                    problems.extend(_contradictions(leaves, attributes))
            return
        count += 1
        problems.extend(_leaf_problems(node, attributes))

    walk(conditions, 1)
    if count > MAX_CONDITIONS:
        problems.append(_("A screener may have at most %(n)s conditions.") % {"n": MAX_CONDITIONS})
    return problems


def quota_problems(strata: list, quotas: list, size: int, attributes: dict[str, Attribute]) -> list[str]:
    """What makes a quota set impossible before any count: unknown strata, bad cells, min above max, minimums
    that add up to more than the sample or maximums that cannot fill it."""
    problems = []
    if len(strata) > MAX_STRATA:
        problems.append(_("Use at most %(n)s strata.") % {"n": MAX_STRATA})
    for code in strata:
        attribute = attributes.get(code)
        if attribute is None or attribute.kind not in (AttributeKind.CHOICE, AttributeKind.BOOLEAN):
            problems.append(
                _("“%(code)s” cannot be a stratum: choose a one-choice attribute.") % {"code": code}
            )
    if problems or not strata:
        return problems + ([_("Quotas need strata.")] if quotas and not strata else [])
    seen = set()
    for quota in quotas:
        cell = quota.get("cell", {})
        if set(cell) != set(strata):
            problems.append(_("Every quota cell must give a value for each stratum."))
            continue
        label = cell_label(cell, attributes)
        for code, value in cell.items():
            known = attributes[code].choice_values()
            if known and value not in known:
                problems.append(
                    _("%(cell)s: %(attribute)s has no value “%(value)s”.")
                    % {"cell": label, "attribute": attributes[code].label, "value": value}
                )
        key = tuple(cell[c] for c in strata)
        if key in seen:
            problems.append(_("%(cell)s appears twice.") % {"cell": label})
        seen.add(key)
        low, high = quota.get("min", 0), quota.get("max")
        if (
            not isinstance(low, int)
            or low < 0
            or (high is not None and (not isinstance(high, int) or high < 0))
        ):
            problems.append(_("%(cell)s: minimum and maximum must be whole numbers.") % {"cell": label})
        elif high is not None and low > high:
            problems.append(
                _("%(cell)s: the minimum (%(min)s) is above the maximum (%(max)s).")
                % {"cell": label, "min": low, "max": high}
            )
    if problems:
        return problems
    total_min = sum(q.get("min", 0) for q in quotas)
    if total_min > size:
        problems.append(
            _("The minimums add up to %(total)s people, more than the %(size)s to draw.")
            % {"total": total_min, "size": size}
        )
    if quotas and all(q.get("max") is not None for q in quotas):
        total_max = sum(q["max"] for q in quotas)
        if total_max < size:
            problems.append(
                _("The maximums allow only %(total)s people, fewer than the %(size)s to draw.")
                % {"total": total_max, "size": size}
            )
    return problems


def cell_label(cell: dict, attributes: dict[str, Attribute]) -> str:
    return " × ".join(
        attributes[code].choice_label(value) if code in attributes else str(value)
        for code, value in cell.items()
    )


def all_cells(strata: list, attributes: dict[str, Attribute]) -> list[dict]:
    """Every combination of the strata's values, to fill a quota table."""
    values = [[v for v, _label in attributes[code].choices] for code in strata]
    return [dict(zip(strata, combo, strict=True)) for combo in product(*values)]


# ----------------------------------------------------------------------------------------- compilation


def _age_band_q(bands, year: int) -> Q:
    q = Q()
    for band in bands:
        low, high = age_band_limits(band)
        limits = {"person__profile__year_of_birth__lte": year - low}
        if high is not None:
            limits["person__profile__year_of_birth__gte"] = year - high
        q |= Q(**limits)
    return q


def _number_q(field: str, operator: str, value) -> Q:
    if operator == "between":
        return Q(**{f"{field}__gte": _number(value[0]), f"{field}__lte": _number(value[1])})
    return Q(**{f"{field}__{'exact' if operator == 'equals' else operator}": _number(value)})


def _multi_q(field: str, operator: str, values) -> Q:
    parts = [Q(**{f"{field}__contains": f"|{v}|"}) for v in values]
    joined = Q()
    for part in parts:
        joined = joined & part if operator == "all_of" else joined | part
    return ~joined if operator == "none_of" else joined


def _leaf_q(leaf: dict, attribute: Attribute, year: int) -> Q:
    operator, value = leaf["operator"], leaf["value"]
    if attribute.custom is not None:
        answers = AttributeValue.objects.filter(membership=OuterRef("pk"), attribute=attribute.custom)
        if attribute.kind == AttributeKind.CHOICE:
            found = Exists(answers.filter(value__in=value))
            return ~Q(found) if operator == "not_in" else Q(found)
        if attribute.kind == AttributeKind.MULTI:
            return _custom_multi(answers, operator, value)
        if attribute.kind == AttributeKind.NUMBER:
            return Q(Exists(answers.filter(_number_q("number", operator, value))))
        if attribute.kind == AttributeKind.BOOLEAN:
            return Q(Exists(answers.filter(value="true" if value else "false")))
        return Q(Exists(answers.filter(**{f"value__{_text_lookup(operator)}": value.strip()})))
    field = f"person__profile__{attribute.column}"
    if attribute.code == "age_band":
        q = _age_band_q(value, year)
        return ~q if operator == "not_in" else q
    if attribute.code == "age":
        # age this year = year - year_of_birth, so an age range is a birth-year range the other way round
        if operator == "between":
            return Q(
                **{
                    f"{field}__gte": year - int(_number(value[1])),
                    f"{field}__lte": year - int(_number(value[0])),
                }
            )
        bound = year - int(_number(value))
        return Q(**{f"{field}__{ {'gte': 'lte', 'lte': 'gte', 'equals': 'exact'}[operator] }": bound})
    if attribute.kind == AttributeKind.CHOICE:
        q = Q(**{f"{field}__in": value})
        return ~q if operator == "not_in" else q
    if attribute.kind == AttributeKind.MULTI:
        return _multi_q(field, operator, value)
    return Q(**{f"{field}__{_text_lookup(operator)}": value.strip()})


def _custom_multi(answers, operator: str, values) -> Q:
    inner = _multi_q("value", "all_of" if operator == "all_of" else "any_of", values)
    found = Exists(answers.filter(inner))
    return ~Q(found) if operator == "none_of" else Q(found)


def _text_lookup(operator: str) -> str:
    return {"equals": "iexact", "contains": "icontains", "startswith": "istartswith"}[operator]


def screener_q(conditions: dict, attributes: dict[str, Attribute], year: int) -> Q:
    """The screener as one Q over PanelMembership (validate it first)."""
    if not conditions:
        return Q()
    if "all" in conditions or "any" in conditions:
        joined = Q()
        for child in conditions.get("all") or conditions.get("any"):
            part = screener_q(child, attributes, year)
            joined = joined & part if "all" in conditions else joined | part
        return joined
    return _leaf_q(conditions, attributes[conditions["attribute"]], year)


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def consent_q(panel: Panel, purposes, now) -> Q:
    """Consent to every purpose active at ``now``, under a consent form that applies to this panel; for a
    minor, the consent must have come from a guardian."""
    today = timezone.localdate(now)
    versions = list(
        ConsentDocumentVersion.objects.filter(
            document__in=ConsentDocument.objects.filter(scope_filter(panel))
        ).values_list("pk", flat=True)
    )
    cutoff = years_before(today, settings.AGE_OF_DIGITAL_CONSENT)
    minor = Q(person__birth_date__gt=cutoff) | Q(
        person__birth_date__isnull=True,
        person__profile__year_of_birth__gt=today.year - settings.AGE_OF_DIGITAL_CONSENT,
    )
    q = Q()
    for purpose in purposes:
        records = ConsentRecord.objects.filter(
            Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=now),
            person=OuterRef("person_id"),
            purpose=purpose,
            version_id__in=versions,
            given_at__lte=now,
        )
        # The same as (adult and a record) or (minor and a guardian's record), written with the record's
        # EXISTS on its own so that the database can join the records instead of probing them per member.
        guardians = Q(Exists(records.filter(guardian__isnull=False)))
        q &= Q(Exists(records)) & (~minor | (minor & guardians))
    return q


def protected_q(panel: Panel, now) -> Q:
    """Members the panel's fair-contact rules protect right now: invited or taking part too often in the
    rolling period, or resting after taking part. Counts run over all panels: a person is one person."""
    since = now - timezone.timedelta(days=panel.period_days)
    invited = (
        Invitation.objects.filter(created_at__gte=since, created_at__lt=now)
        .values("person_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=panel.max_invitations)
        .values("person_id")
    )
    took_part = Participation.objects.filter(outcome=Participation.Outcome.TOOK_PART, occurred_at__lt=now)
    busy = (
        took_part.filter(occurred_at__gte=since)
        .values("person_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=panel.max_participations)
        .values("person_id")
    )
    resting = took_part.filter(occurred_at__gte=now - timezone.timedelta(days=panel.cooldown_days))
    return Q(person_id__in=invited) | Q(person_id__in=busy) | Q(person_id__in=resting.values("person_id"))


def stratum_expression(attribute: Attribute, year: int):
    """The SQL value of one stratum for a member (an age band is computed from the year of birth)."""
    if attribute.code == "age_band":
        whens = []
        for band in AgeBand:
            low, high = age_band_limits(band.value)
            limits = {"person__profile__year_of_birth__lte": year - low}
            if high is not None:
                limits["person__profile__year_of_birth__gte"] = year - high
            whens.append(When(Q(**limits), then=Value(band.value)))
        return Case(*whens, default=Value(""), output_field=CharField())
    if attribute.custom is not None:
        answer = AttributeValue.objects.filter(membership=OuterRef("pk"), attribute=attribute.custom)
        return Subquery(answer.values("value")[:1], output_field=CharField())
    return F(f"person__profile__{attribute.column}")


def stratum_q(attribute: Attribute, value, year: int) -> Q:
    """Members whose stratum ``attribute`` has ``value``: what ``stratum_expression(...) == value`` means,
    on the stored columns, so that the database can estimate it and use its indexes."""
    if attribute.code == "age_band":
        return _age_band_q([value], year)
    if attribute.custom is not None:  # one answer per member and attribute
        answers = AttributeValue.objects.filter(membership=OuterRef("pk"), attribute=attribute.custom)
        return Q(Exists(answers.filter(value=value)))
    return Q(**{f"person__profile__{attribute.column}": value})


@dataclass
class Frame:
    """The members a draw may choose from, as a queryset annotated with their cell (``s0``…)."""

    queryset: object
    strata: list
    cells_q: Q


def sampling_frame(
    panel: Panel,
    *,
    conditions: dict,
    strata: list,
    quotas: list,
    purposes,
    now=None,
    attributes=None,
    draw=None,
) -> Frame:
    """Active members who pass the screener and the consent gate and whom the fair-contact rules do not
    protect (unless staff overrode the protection with a reason), annotated with their stratum values.
    ``now`` and ``draw`` replay an earlier draw: consents and contacts as they were, its own overrides."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    attributes = attributes if attributes is not None else attributes_of(panel)
    overrides = ContactOverride.objects.filter(membership__panel=panel, granted_at__lte=now)
    overrides = overrides.filter(used_by=draw) if draw is not None else overrides.filter(used_by__isnull=True)
    overridden = overrides.values("membership_id")
    queryset = (
        PanelMembership.objects.filter(panel=panel, status=PanelMembership.Status.ACTIVE)
        .filter(screener_q(conditions, attributes, today.year))
        .filter(consent_q(panel, purposes, now))
        .filter(~protected_q(panel, now) | Q(pk__in=overridden))
    )
    annotations = {f"s{i}": stratum_expression(attributes[code], today.year) for i, code in enumerate(strata)}
    queryset = queryset.annotate(**annotations)
    cells_q = Q()
    for quota in quotas:
        cell = Q()
        for code in strata:
            cell &= stratum_q(attributes[code], quota["cell"][code], today.year)
        cells_q |= cell
    return Frame(queryset, strata, cells_q)


def describe(conditions: dict, attributes: dict[str, Attribute]) -> str:
    """A screener in words, for the draw's record: "Age band is one of 65 to 74, 75 and over; and …"."""
    if not conditions:
        return _("Everybody in the panel")
    if "all" in conditions or "any" in conditions:
        joiner = _(" and ") if "all" in conditions else _(" or ")
        children = conditions.get("all") or conditions.get("any")
        parts = [
            describe(c, attributes) if "attribute" in c else f"({describe(c, attributes)})" for c in children
        ]
        return joiner.join(parts)
    attribute = attributes.get(conditions.get("attribute"))
    if attribute is None:
        return str(conditions.get("attribute"))
    value = conditions.get("value")
    if isinstance(value, list):
        shown = ", ".join(attribute.choice_label(v) for v in value)
        if conditions.get("operator") == "between":
            shown = f"{value[0]}–{value[-1]}"
    elif isinstance(value, bool):
        shown = _("yes") if value else _("no")
    else:
        shown = str(value)
    return f"{attribute.label} {OPERATOR_LABELS.get(conditions.get('operator'), '')} {shown}"

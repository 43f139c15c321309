"""The questionnaire definition format: a versioned JSON document that the builder imports and exports.

    {"version": 1, "languages": ["en", "fr"], "title": {"en": "…", "fr": "…"}, "introduction": {…},
     "questions": [{"key": "ease", "kind": "likert5", "text": {"en": "…", "fr": "…"}, "help": {…},
                    "options": [{"value": "a", "label": {"en": "…", "fr": "…"}}], "scale_max": null,
                    "required": true, "show_if": {"question": "age", "operator": "eq", "value": "a"},
                    "firm": null}]}

``parse_definition`` checks everything and names every problem it finds (with the question's position and
key), so that a malformed definition is explained instead of stored."""

import json
import re

from django.utils.translation import gettext as _

from .models import QuestionKind

VERSION = 1
MAX_QUESTIONS = 200
MAX_OPTIONS = 50
MAX_TEXT = 2000
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")

CHOICE_KINDS = {QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.RANKING}
NUMBER_KINDS = {QuestionKind.LIKERT5, QuestionKind.LIKERT7, QuestionKind.RATING, QuestionKind.NPS}
ANSWERED = "answered"
# Which conditions a later question may put on an answer of each kind.
OPERATORS = {
    QuestionKind.LIKERT5: {"eq", "ne", "in", "gte", "lte", ANSWERED},
    QuestionKind.LIKERT7: {"eq", "ne", "in", "gte", "lte", ANSWERED},
    QuestionKind.RATING: {"eq", "ne", "in", "gte", "lte", ANSWERED},
    QuestionKind.NPS: {"eq", "ne", "in", "gte", "lte", ANSWERED},
    QuestionKind.SUS: {"gte", "lte", ANSWERED},  # on the SUS score 0–100
    QuestionKind.SINGLE: {"eq", "ne", "in", ANSWERED},
    QuestionKind.MULTIPLE: {"eq", "ne", "in", ANSWERED},  # eq: that option is among the chosen ones
    QuestionKind.RANKING: {ANSWERED},
    QuestionKind.TEXT: {ANSWERED},
}
QUESTION_FIELDS = {"key", "kind", "text", "help", "options", "scale_max", "required", "show_if", "firm"}
TOP_FIELDS = {"version", "languages", "title", "introduction", "questions"}


def number_range(kind: str, scale_max: int | None) -> tuple[int, int]:
    """The smallest and largest number an answer of ``kind`` holds (the SUS score for SUS)."""
    return {
        QuestionKind.LIKERT5: (1, 5),
        QuestionKind.LIKERT7: (1, 7),
        QuestionKind.NPS: (0, 10),
        QuestionKind.SUS: (0, 100),
        QuestionKind.RATING: (1, scale_max or 5),
    }.get(kind, (0, 0))


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Checker:
    def __init__(self, campaign=None):
        self.problems: list[str] = []
        self.allowed_firms = None
        if campaign is not None:
            self.allowed_firms = {campaign.requested_by_id, *campaign.partners.values_list("pk", flat=True)}

    def add(self, message: str):
        self.problems.append(message)

    def texts(self, value, languages, where: str, *, required: bool, needed=None) -> dict:
        """A {language: text} object: a text for every declared language (or those ``needed``) when
        required."""
        if value is None or value == {}:
            if required:
                self.add(_("%(where)s: the text is missing.") % {"where": where})
            return {}
        if not isinstance(value, dict):
            self.add(
                _('%(where)s must be an object of texts by language, e.g. {"en": "…"}.') % {"where": where}
            )
            return {}
        clean = {}
        for language, text in value.items():
            if language not in languages:
                self.add(
                    _("%(where)s has a text in “%(language)s”, which is not one of the declared languages.")
                    % {"where": where, "language": language}
                )
            elif not isinstance(text, str):
                self.add(
                    _("%(where)s: the “%(language)s” text must be a string.")
                    % {"where": where, "language": language}
                )
            elif len(text) > MAX_TEXT:
                self.add(
                    _("%(where)s: the “%(language)s” text is longer than %(max)s characters.")
                    % {"where": where, "language": language, "max": MAX_TEXT}
                )
            elif text.strip():
                clean[language] = text.strip()
        if required:
            for language in languages if needed is None else needed:
                if language not in clean:
                    self.add(
                        _("%(where)s: the text in “%(language)s” is missing.")
                        % {"where": where, "language": language}
                    )
        return clean


def _load(data, checker: _Checker):
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            checker.add(_("The file is not UTF-8 text."))
            return None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as error:
            checker.add(
                _("The file is not valid JSON (line %(line)s, column %(column)s: %(reason)s).")
                % {"line": error.lineno, "column": error.colno, "reason": error.msg}
            )
            return None
    if not isinstance(data, dict):
        checker.add(_("A questionnaire definition must be a JSON object with “version” and “questions”."))
        return None
    return data


def parse_definition(data, campaign=None) -> tuple[dict | None, list[str]]:
    """Check a definition (a dict, or JSON text or bytes). Returns the cleaned definition and an empty
    list, or None and every problem found in words. With ``campaign``, a question's firm must be the
    campaign's requester or one of its partners."""
    checker = _Checker(campaign)
    data = _load(data, checker)
    if data is None:
        return None, checker.problems

    for unknown in sorted(set(data) - TOP_FIELDS):
        checker.add(_("Unknown field “%(field)s” at the top of the definition.") % {"field": unknown})
    version = data.get("version")
    if version != VERSION:
        checker.add(
            _('The definition must say "version": %(version)s (found %(found)s).')
            % {"version": VERSION, "found": json.dumps(version)}
        )

    raw_languages = data.get("languages")
    languages: list[str] = []
    if not isinstance(raw_languages, list) or not raw_languages:
        checker.add(_('“languages” must be a non-empty list of language codes, e.g. ["en", "fr"].'))
    else:
        for language in raw_languages:
            if not isinstance(language, str) or not LANGUAGE_RE.match(language):
                checker.add(
                    _("“%(language)s” is not a language code such as “en” or “fr”.") % {"language": language}
                )
            elif language in languages:
                checker.add(_("The language “%(language)s” is declared twice.") % {"language": language})
            else:
                languages.append(language)

    # The title is needed in the default language; other languages fall back to it.
    title = checker.texts(data.get("title"), languages, _("The title"), required=True, needed=languages[:1])
    introduction = checker.texts(data.get("introduction"), languages, _("The introduction"), required=False)

    raw_questions = data.get("questions", [])
    if not isinstance(raw_questions, list):
        checker.add(_("“questions” must be a list."))
        raw_questions = []
    if len(raw_questions) > MAX_QUESTIONS:
        checker.add(_("A questionnaire holds at most %(max)s questions.") % {"max": MAX_QUESTIONS})
        raw_questions = raw_questions[:MAX_QUESTIONS]

    questions: list[dict] = []
    seen: dict[str, dict | None] = {}  # key → the earlier question, cleaned (None when it had problems)
    all_keys = [q.get("key") for q in raw_questions if isinstance(q, dict)]
    for position, raw in enumerate(raw_questions, start=1):
        clean = _question(raw, position, languages, seen, all_keys, checker)
        if clean is not None:
            questions.append(clean)
        key = raw.get("key") if isinstance(raw, dict) else None
        if isinstance(key, str) and key not in seen:
            seen[key] = clean

    if checker.problems:
        return None, checker.problems
    return {
        "version": VERSION,
        "languages": languages,
        "title": title,
        "introduction": introduction,
        "questions": questions,
    }, []


def _question(raw, position, languages, seen, all_keys, checker: _Checker) -> dict | None:
    if not isinstance(raw, dict):
        checker.add(_("Question %(n)s must be an object with “key”, “kind” and “text”.") % {"n": position})
        return None
    key = raw.get("key")
    if isinstance(key, str) and KEY_RE.match(key):
        where = _("Question %(n)s (“%(key)s”)") % {"n": position, "key": key}
    else:
        where = _("Question %(n)s") % {"n": position}
        checker.add(
            _("%(where)s: the key must be 1 to 40 lower-case letters, digits, “-” or “_” (found %(found)s).")
            % {"where": where, "found": json.dumps(key)}
        )
        key = None
    if key is not None and key in seen:
        checker.add(
            _("%(where)s: the key “%(key)s” is used by an earlier question.") % {"where": where, "key": key}
        )
    for unknown in sorted(set(raw) - QUESTION_FIELDS):
        checker.add(_("%(where)s: unknown field “%(field)s”.") % {"where": where, "field": unknown})

    kind = raw.get("kind")
    if kind not in QuestionKind.values:
        checker.add(
            _("%(where)s: unknown kind %(kind)s; use one of %(kinds)s.")
            % {"where": where, "kind": json.dumps(kind), "kinds": ", ".join(QuestionKind.values)}
        )
        kind = None
    else:
        kind = QuestionKind(kind)

    text = checker.texts(raw.get("text"), languages, _("%(where)s: text") % {"where": where}, required=True)
    help_text = checker.texts(
        raw.get("help"), languages, _("%(where)s: help") % {"where": where}, required=False
    )

    options = _options(raw.get("options"), kind, languages, where, checker)

    scale_max = raw.get("scale_max")
    if kind == QuestionKind.RATING:
        if scale_max is None:
            scale_max = 5
        elif not isinstance(scale_max, int) or isinstance(scale_max, bool) or not 2 <= scale_max <= 10:
            checker.add(
                _("%(where)s: “scale_max” must be a whole number from 2 to 10 (found %(found)s).")
                % {"where": where, "found": json.dumps(scale_max)}
            )
            scale_max = None
    elif scale_max is not None:
        checker.add(_("%(where)s: only rating questions take “scale_max”.") % {"where": where})
        scale_max = None

    required = raw.get("required", True)
    if not isinstance(required, bool):
        checker.add(_("%(where)s: “required” must be true or false.") % {"where": where})

    show_if = _condition(raw.get("show_if"), key, where, seen, all_keys, checker)

    firm = raw.get("firm")
    if firm is not None:
        if not isinstance(firm, int) or isinstance(firm, bool):
            checker.add(_("%(where)s: “firm” must be an organisation number or null.") % {"where": where})
            firm = None
        elif checker.allowed_firms is not None and firm not in checker.allowed_firms:
            checker.add(
                _("%(where)s: organisation %(firm)s is neither the requester nor a partner of this campaign.")
                % {"where": where, "firm": firm}
            )
    if key is None or kind is None:
        return None
    return {
        "key": key,
        "kind": str(kind),
        "text": text,
        "help": help_text,
        "options": options,
        "scale_max": scale_max,
        "required": required if isinstance(required, bool) else True,
        "show_if": show_if,
        "firm": firm,
    }


def _options(raw, kind, languages, where, checker: _Checker) -> list[dict]:
    if kind is not None and kind not in CHOICE_KINDS:
        if raw not in (None, []):
            checker.add(
                _("%(where)s: a question of kind “%(kind)s” takes no options.")
                % {"where": where, "kind": kind}
            )
        return []
    if raw is None or raw == []:
        if kind is not None:
            checker.add(_("%(where)s: give at least two options.") % {"where": where})
        return []
    if not isinstance(raw, list):
        checker.add(_("%(where)s: “options” must be a list.") % {"where": where})
        return []
    if len(raw) < 2:
        checker.add(_("%(where)s: give at least two options.") % {"where": where})
    if len(raw) > MAX_OPTIONS:
        checker.add(_("%(where)s: at most %(max)s options.") % {"where": where, "max": MAX_OPTIONS})
    clean, values = [], set()
    for n, option in enumerate(raw, start=1):
        if not isinstance(option, dict):
            checker.add(
                _("%(where)s: option %(n)s must be an object with “value” and “label”.")
                % {"where": where, "n": n}
            )
            continue
        value = option.get("value")
        if not isinstance(value, str) or not KEY_RE.match(value):
            checker.add(
                _(
                    "%(where)s: option %(n)s needs a value of 1 to 40 lower-case letters, digits, “-” or “_” "
                    "(found %(found)s)."
                )
                % {"where": where, "n": n, "found": json.dumps(value)}
            )
            continue
        if value in values:
            checker.add(
                _("%(where)s: the option “%(value)s” is given twice.") % {"where": where, "value": value}
            )
            continue
        values.add(value)
        label = checker.texts(
            option.get("label"),
            languages,
            _("%(where)s: option “%(value)s”") % {"where": where, "value": value},
            required=True,
        )
        clean.append({"value": value, "label": label})
    return clean


def _condition(raw, key, where, seen, all_keys, checker: _Checker) -> dict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        checker.add(_("%(where)s: “show_if” must be an object or null.") % {"where": where})
        return None
    target_key = raw.get("question")
    operator = raw.get("operator")
    value = raw.get("value")
    if target_key == key:
        checker.add(_("%(where)s: a question cannot depend on itself.") % {"where": where})
        return None
    target = seen.get(target_key) if isinstance(target_key, str) else None
    if target is None:
        if isinstance(target_key, str) and target_key in seen:
            return None  # the earlier question's own problems are reported already
        if target_key in all_keys:
            checker.add(
                _(
                    "%(where)s: the condition refers to “%(target)s”, which comes later; "
                    "a condition can only refer to an earlier question."
                )
                % {"where": where, "target": target_key}
            )
        else:
            checker.add(
                _(
                    "%(where)s: the condition refers to %(target)s, "
                    "which is not a question of this questionnaire."
                )
                % {"where": where, "target": json.dumps(target_key)}
            )
        return None
    kind = target["kind"]
    allowed = OPERATORS[kind]
    if operator not in allowed:
        checker.add(
            _(
                "%(where)s: the operator %(operator)s cannot be used on a “%(kind)s” question; "
                "use one of %(allowed)s."
            )
            % {
                "where": where,
                "operator": json.dumps(operator),
                "kind": kind,
                "allowed": ", ".join(sorted(allowed)),
            }
        )
        return None
    if operator == ANSWERED:
        return {"question": target_key, "operator": operator, "value": None}
    values = value if operator == "in" else [value]
    if operator == "in" and (not isinstance(value, list) or not value):
        checker.add(_("%(where)s: the operator “in” needs a non-empty list of values.") % {"where": where})
        return None
    if kind in CHOICE_KINDS:
        known = {o["value"] for o in target["options"]}
        for v in values:
            if v not in known:
                checker.add(
                    _("%(where)s: the condition's value %(value)s is not one of the options of “%(target)s”.")
                    % {"where": where, "value": json.dumps(v), "target": target_key}
                )
                return None
    else:
        low, high = number_range(kind, target.get("scale_max"))
        for v in values:
            if not _is_number(v) or not low <= v <= high:
                checker.add(
                    _("%(where)s: the condition's value %(value)s must be a number from %(low)s to %(high)s.")
                    % {"where": where, "value": json.dumps(v), "low": low, "high": high}
                )
                return None
    return {"question": target_key, "operator": operator, "value": value}


def question_definition(question) -> dict:
    """One question in the definition format."""
    return {
        "key": question.key,
        "kind": question.kind,
        "text": dict(question.text or {}),
        "help": dict(question.help_text or {}),
        "options": list(question.options or []),
        "scale_max": question.scale_max,
        "required": question.required,
        "show_if": question.show_if or None,
        "firm": question.firm_id,
    }


def export_definition(questionnaire) -> dict:
    """The questionnaire as a definition that ``parse_definition`` accepts back unchanged."""
    return {
        "version": VERSION,
        "languages": list(questionnaire.languages),
        "title": dict(questionnaire.title or {}),
        "introduction": dict(questionnaire.introduction or {}),
        "questions": [question_definition(q) for q in questionnaire.questions.order_by("position")],
    }

"""Forms of questionnaires: the builder's (a questionnaire, a question, an import, opening) and the
participant's page of questions, one accessible field group per question."""

from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from livinglab.models import Organisation

from .models import Language, QuestionKind
from .questionnaire_definition import CHOICE_KINDS, NUMBER_KINDS
from .scoring import NPS_HIGH_LABEL, NPS_LOW_LABEL, SUS_ITEMS, likert_labels

MAX_IMPORT_BYTES = 512 * 1024
LANGUAGE_NAMES = dict(Language.choices)

OPERATOR_LABELS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "in": gettext_lazy("is one of (separate with commas)"),
    "gte": gettext_lazy("is at least"),
    "lte": gettext_lazy("is at most"),
    "answered": gettext_lazy("was answered"),
}


def localized(texts: dict | None, language: str, languages=()) -> str:
    """The text in ``language``, else in the questionnaire's first language that has one."""
    texts = texts or {}
    if texts.get(language):
        return texts[language]
    for other in (*languages, *texts):
        if texts.get(other):
            return texts[other]
    return ""


# ------------------------------------------------------------------------------------------- builder


class QuestionnaireForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Languages"),
        choices=Language.choices,
        initial=["en"],
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Participants choose among these; the first one in this list is the default."),
    )
    session = forms.ModelChoiceField(
        label=gettext_lazy("For one session only"),
        queryset=None,
        required=False,
        empty_label=gettext_lazy("No: for everyone taking part in the campaign"),
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session"].queryset = campaign.sessions.order_by("starts_at")


class OpenForm(forms.Form):
    closes_at = forms.DateTimeField(
        label=gettext_lazy("Closes at (optional)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Definition file (JSON)"), required=False)
    text = forms.CharField(
        label=gettext_lazy("Or paste the definition"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_IMPORT_BYTES:
                raise forms.ValidationError(_("The file is too large (at most 512 KB)."))
            data["definition"] = upload.read()
        elif data.get("text", "").strip():
            data["definition"] = data["text"]
        else:
            raise forms.ValidationError(_("Choose a file or paste a definition."))
        return data


def parse_options(text: str) -> list[tuple[str, str]]:
    """Lines ``value|label`` or just ``label`` → [(value, label)]; the value is made from the label."""
    parsed = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        value, sep, label = line.partition("|")
        if not sep:
            value, label = slugify(line)[:40], line
        parsed.append((value.strip(), label.strip()))
    return parsed


class QuestionForm(forms.Form):
    """One question; its texts and option labels per language of the questionnaire."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind of question"), choices=QuestionKind.choices)
    key = forms.SlugField(
        label=gettext_lazy("Short name"),
        max_length=40,
        help_text=gettext_lazy("Lower-case letters, digits, “-” or “_”; names the column in exports."),
    )
    required = forms.BooleanField(label=gettext_lazy("An answer is required"), required=False, initial=True)
    scale_max = forms.IntegerField(
        label=gettext_lazy("Rating: highest value (2 to 10)"), required=False, min_value=2, max_value=10
    )
    show_if_question = forms.ChoiceField(label=gettext_lazy("Show only if the question"), required=False)
    show_if_operator = forms.ChoiceField(
        label=gettext_lazy("condition"),
        required=False,
        choices=[("", "—"), *OPERATOR_LABELS.items()],
    )
    show_if_value = forms.CharField(
        label=gettext_lazy("value"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("An option's value, or a number."),
    )
    firm = forms.ModelChoiceField(
        label=gettext_lazy("Whose question (joint surveys)"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=gettext_lazy("Shared by all firms"),
    )

    def __init__(self, *args, questionnaire, earlier=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        self.languages = list(questionnaire.languages)
        self.earlier = {q.key: q for q in earlier}
        campaign = questionnaire.campaign
        self.fields["firm"].queryset = Organisation.objects.filter(
            pk__in=[campaign.requested_by_id, *campaign.partners.values_list("pk", flat=True)]
        ).order_by("name")
        self.fields["show_if_question"].choices = [("", _("Always show this question"))] + [
            (q.key, f"{q.position}. {localized(q.text, self.languages[0])[:60]}") for q in earlier
        ]
        for n, language in enumerate(self.languages):
            name = LANGUAGE_NAMES.get(language, language)
            self.fields[f"text_{language}"] = forms.CharField(
                label=_("Question (%(language)s)") % {"language": name},
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"help_{language}"] = forms.CharField(
                label=_("Help text (%(language)s, optional)") % {"language": name},
                required=False,
                max_length=2000,
            )
            self.fields[f"options_{language}"] = forms.CharField(
                label=_("Options (%(language)s), one per line") % {"language": name},
                required=False,
                widget=forms.Textarea(attrs={"rows": 4}),
                help_text=_("“value|label” or just the label; single, multiple choice and ranking only.")
                if n == 0
                else _("The same options in the same order; “value|label” or just the label."),
            )

    @classmethod
    def initial_for(cls, question) -> dict:
        initial = {
            "kind": question.kind,
            "key": question.key,
            "required": question.required,
            "scale_max": question.scale_max,
            "firm": question.firm_id,
        }
        for language in question.questionnaire.languages:
            initial[f"text_{language}"] = (question.text or {}).get(language, "")
            initial[f"help_{language}"] = (question.help_text or {}).get(language, "")
            initial[f"options_{language}"] = "\n".join(
                f"{o['value']}|{o['label'].get(language, '')}" for o in question.options or []
            )
        if question.show_if:
            value = question.show_if.get("value")
            initial["show_if_question"] = question.show_if.get("question")
            initial["show_if_operator"] = question.show_if.get("operator")
            initial["show_if_value"] = (
                ", ".join(map(str, value)) if isinstance(value, list) else (value or "")
            )
        return initial

    def _condition_value(self, target, operator, raw: str):
        parts = [p.strip() for p in raw.split(",") if p.strip()] if operator == "in" else [raw.strip()]
        if target is not None and target.kind not in CHOICE_KINDS:
            converted = []
            for part in parts:
                try:
                    converted.append(int(part))
                except ValueError:
                    try:
                        converted.append(float(part))
                    except ValueError:
                        converted.append(part)  # the definition check names the problem
            parts = converted
        return parts if operator == "in" else (parts[0] if parts else None)

    def definition(self) -> dict:
        """The question in the definition format (checked by the service)."""
        data = self.cleaned_data
        kind = data["kind"]
        first = self.languages[0]
        options = []
        if kind in CHOICE_KINDS:
            base = parse_options(data.get(f"options_{first}", ""))
            for index, (value, label) in enumerate(base):
                labels = {first: label}
                for language in self.languages[1:]:
                    lines = parse_options(data.get(f"options_{language}", ""))
                    match = dict(lines).get(value) or (lines[index][1] if index < len(lines) else "")
                    if match:
                        labels[language] = match
                options.append({"value": value, "label": labels})
        elif any(data.get(f"options_{language}") for language in self.languages):
            options = [
                {"value": v, "label": {first: label}} for v, label in parse_options(data[f"options_{first}"])
            ]
        show_if = None
        if data.get("show_if_question"):
            target = self.earlier.get(data["show_if_question"])
            operator = data.get("show_if_operator") or "answered"
            value = (
                None
                if operator == "answered"
                else self._condition_value(target, operator, data["show_if_value"])
            )
            show_if = {"question": data["show_if_question"], "operator": operator, "value": value}
        return {
            "key": data["key"],
            "kind": kind,
            "text": {lang: data.get(f"text_{lang}", "") for lang in self.languages},
            "help": {lang: data[f"help_{lang}"] for lang in self.languages if data.get(f"help_{lang}")},
            "options": options,
            "scale_max": data.get("scale_max") if kind == QuestionKind.RATING else None,
            "required": bool(data.get("required")),
            "show_if": show_if,
            "firm": data["firm"].pk if data.get("firm") else None,
        }


# --------------------------------------------------------------------------------------- participant


class AnswerPageForm(forms.Form):
    """The questions of one page. ``items`` lists, per question, its text, help, kind and bound fields, so
    that the template renders each as a fieldset with a legend."""

    def __init__(self, *args, questions, language, languages, answers, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        self.items = []
        self.question_errors: dict[str, list[str]] = {}
        for question in self.questions:
            names = self._add_fields(question, language, answers.get(question.key))
            self.items.append(
                {
                    "question": question,
                    "text": localized(question.text, language, languages),
                    "help": localized(question.help_text, language, languages),
                    "names": names,
                    "id": f"question-{question.key}",
                }
            )

    def _add_fields(self, question, language, answer) -> list[str]:
        kind, name = question.kind, f"q-{question.key}"
        if kind in (QuestionKind.LIKERT5, QuestionKind.LIKERT7):
            labels = likert_labels(kind)
            choices = [(str(i), f"{i} — {label}") for i, label in enumerate(labels, start=1)]
            self._radio(name, choices, answer and int(answer.number))
            return [name]
        if kind == QuestionKind.NPS:
            choices = [(str(i), str(i)) for i in range(11)]
            self._radio(name, choices, answer and int(answer.number))
            return [name]
        if kind == QuestionKind.RATING:
            top = question.scale_max or 5
            choices = [(str(i), _("%(n)s out of %(top)s") % {"n": i, "top": top}) for i in range(1, top + 1)]
            self._radio(name, choices, answer and int(answer.number))
            return [name]
        if kind == QuestionKind.SUS:
            names = []
            items = answer.value if answer is not None else [None] * len(SUS_ITEMS)
            labels = likert_labels("likert5")
            choices = [(str(i), f"{i} — {label}") for i, label in enumerate(labels, start=1)]
            for n, statement in enumerate(SUS_ITEMS, start=1):
                item_name = f"{name}-{n}"
                self._radio(item_name, choices, items[n - 1] if n - 1 < len(items) else None, label=statement)
                names.append(item_name)
            return names
        options = [(o["value"], localized(o["label"], language)) for o in question.options or []]
        if kind == QuestionKind.SINGLE:
            self._radio(name, options, answer and answer.value)
            return [name]
        if kind == QuestionKind.MULTIPLE:
            self.fields[name] = forms.MultipleChoiceField(
                choices=options, required=False, widget=forms.CheckboxSelectMultiple, label=""
            )
            self.fields[name].initial = answer.value if answer is not None else []
            return [name]
        if kind == QuestionKind.RANKING:
            names = []
            ranks = {value: i for i, value in enumerate(answer.value or [], start=1)} if answer else {}
            rank_choices = [("", "—")] + [(str(i), str(i)) for i in range(1, len(options) + 1)]
            for value, label in options:
                option_name = f"{name}-{value}"
                self.fields[option_name] = forms.ChoiceField(
                    choices=rank_choices, required=False, label=label, initial=ranks.get(value, "")
                )
                names.append(option_name)
            return names
        self.fields[name] = forms.CharField(
            required=False, label="", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
        )
        self.fields[name].initial = answer.text if answer is not None else ""
        return [name]

    def _radio(self, name, choices, initial, label=""):
        self.fields[name] = forms.ChoiceField(
            choices=choices, required=False, widget=forms.RadioSelect, label=label
        )
        if initial is not None and initial != "":
            self.fields[name].initial = str(initial)

    def answers(self) -> dict:
        """{question key: answer} as the service takes it."""
        data = self.cleaned_data
        answers = {}
        for item in self.items:
            question = item["question"]
            values = [data.get(name) for name in item["names"]]
            if question.kind == QuestionKind.SUS:
                answers[question.key] = values
            elif question.kind == QuestionKind.RANKING:
                answers[question.key] = {
                    name.removeprefix(f"q-{question.key}-"): value
                    for name, value in zip(item["names"], values, strict=True)
                }
            else:
                answers[question.key] = values[0]
        return answers

    def show_problems(self, problems: dict):
        self.question_errors = problems
        for item in self.items:
            item["error"] = problems.get(item["question"].key, "")

    def bound_items(self):
        """Items with their bound fields, for the template."""
        for item in self.items:
            item["fields"] = [self[name] for name in item["names"]]
            field_errors = [str(e) for name in item["names"] for e in self.errors.get(name, [])]
            item["error"] = item.get("error") or (field_errors[0] if field_errors else "")
            item["nps"] = item["question"].kind == QuestionKind.NPS
            item["nps_low"], item["nps_high"] = NPS_LOW_LABEL, NPS_HIGH_LABEL
            item["numbered"] = item["question"].kind in NUMBER_KINDS
        return self.items

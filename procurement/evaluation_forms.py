"""Forms of the evaluation part: appointing the panel, the conflict-of-interest declaration, an evaluator's
scores and the panel's consensus (one small form per criterion, each with its own prefix)."""

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from livinglab.models import User

from .models import AwardCriterion, Evaluator


class AssignEvaluatorForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address of the evaluator"),
        help_text=_("They must already have an account on the platform."),
    )
    role = forms.ChoiceField(
        label=_("Role on the panel"),
        choices=Evaluator.Role.choices,
        initial=Evaluator.Role.EVALUATOR,
        widget=forms.RadioSelect,
    )

    def clean_email(self):
        email = self.cleaned_data["email"]
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("Nobody with this e-mail address has an active account."))
        self.cleaned_data["user"] = user
        return email


class DeclarationForm(forms.Form):
    has_conflict = forms.TypedChoiceField(
        label=_("Conflict of interest"),
        choices=[
            ("no", _("I have no conflict of interest with this bid")),
            ("yes", _("I have a conflict of interest with this bid (I will be recused from it)")),
        ],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    relationship = forms.CharField(
        label=_("Your relationship to the bidding organisations or people"),
        help_text=_(
            "Required when you declare a conflict: for example employment, shareholding, a family tie, "
            "a recent contract or collaboration."
        ),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        data = super().clean()
        if data.get("has_conflict") and not (data.get("relationship") or "").strip():
            self.add_error("relationship", _("Say what your relationship is."))
        return data


class CriterionScoreForm(forms.Form):
    """A score and its justification for one criterion (an evaluator's own, or the consensus)."""

    score = forms.DecimalField(label=_("Score"), max_digits=5, decimal_places=2)
    justification = forms.CharField(label=_("Justification"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, criterion: AwardCriterion, locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.criterion = criterion
        self.locked = locked
        score = self.fields["score"]
        score.validators += [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal(criterion.max_score))]
        score.label = _("Score from 0 to %(max)s") % {"max": criterion.max_score}
        score.widget.attrs.update({"min": "0", "max": str(criterion.max_score), "step": "0.5"})
        if criterion.threshold:
            score.help_text = _("Minimum to pass: %(threshold)s.") % {
                "threshold": criterion.threshold.normalize()
            }
        if locked:
            for field in self.fields.values():
                field.disabled = True


def criterion_forms(criteria, data=None, *, prefix: str, initial=None, locked=()) -> list[CriterionScoreForm]:
    """One form per criterion; only the criterion whose button was pressed is bound."""
    chosen = (data or {}).get("criterion")
    forms_ = []
    for criterion in criteria:
        name = f"{prefix}{criterion.pk}"
        bound = data is not None and chosen == str(criterion.pk)
        forms_.append(
            CriterionScoreForm(
                data if bound else None,
                prefix=name,
                criterion=criterion,
                initial=(initial or {}).get(criterion.pk),
                locked=criterion.pk in locked,
            )
        )
    return forms_

"""Forms of the marketplace: writing a need or an offer, searching the lists, filtering suggestions.
Forms only parse; ``services.marketplace`` saves."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .matching import STRENGTHS
from .models import Need, Offer, Tag, Visibility
from .services.marketplace import NEED_FIELDS, OFFER_FIELDS

VISIBILITY_HELP = _(
    "“Public to member firms”: every member firm reads all of it, including who you are. "
    "“Details revealed only after an accepted introduction”: other firms read only the title, the short "
    "summary and the tags; who you are, the full description and the other details are shown to a firm "
    "only after the cluster has introduced you and both of you have accepted. "
    "“Visible to cluster staff only”: no other firm sees it; the cluster's staff may still suggest it to a "
    "firm that fits, and nothing is revealed without an accepted introduction."
)


class TagChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, kind: str, **kwargs):
        super().__init__(queryset=Tag.objects.filter(kind=kind).order_by("name"), **kwargs)

    def label_from_instance(self, obj):
        return obj.name


class TagFilterField(forms.ModelChoiceField):
    def __init__(self, kind: str, **kwargs):
        super().__init__(queryset=Tag.objects.filter(kind=kind).order_by("name"), required=False, **kwargs)

    def label_from_instance(self, obj):
        return obj.name


class _ListingForm(forms.ModelForm):
    sectors = TagChoiceField(
        Tag.Kind.SECTOR,
        label=_("Sectors"),
        required=False,
        help_text=_("At least one before publishing. Suggestions are made by sector and technology."),
    )
    technologies = TagChoiceField(
        Tag.Kind.TECHNOLOGY,
        label=_("Technologies"),
        required=False,
        help_text=_("At least one before publishing."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        visibility = self.fields["visibility"]
        visibility.widget = forms.RadioSelect(choices=Visibility.choices)
        visibility.help_text = VISIBILITY_HELP
        self.fields["title"].help_text = _("Read by every member firm that may see the listing.")
        if self.instance.pk:
            self.initial.setdefault("sectors", list(self.instance.sectors.values_list("pk", flat=True)))
            self.initial.setdefault(
                "technologies", list(self.instance.technologies.values_list("pk", flat=True))
            )

    def values(self) -> dict:
        """What the service takes: the fields and the chosen tags."""
        return {name: self.cleaned_data[name] for name in (*self.Meta.fields, "sectors", "technologies")}


class NeedForm(_ListingForm):
    class Meta:
        model = Need
        fields = NEED_FIELDS
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 2}),
            "description": forms.Textarea(attrs={"rows": 6}),
            "users_affected": forms.Textarea(attrs={"rows": 3}),
            "timeframe": forms.RadioSelect,
        }


class OfferForm(_ListingForm):
    class Meta:
        model = Offer
        fields = OFFER_FIELDS
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 2}),
            "description": forms.Textarea(attrs={"rows": 6}),
            "references": forms.Textarea(attrs={"rows": 3}),
            "kind": forms.RadioSelect,
            "maturity": forms.RadioSelect,
        }


class ListingFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Words"),
        required=False,
        max_length=200,
        help_text=_("Searches titles and summaries."),
    )
    sector = TagFilterField(Tag.Kind.SECTOR, label=_("Sector"), empty_label=_("Any sector"))
    technology = TagFilterField(Tag.Kind.TECHNOLOGY, label=_("Technology"), empty_label=_("Any technology"))

    def words(self) -> list[str]:
        return self.cleaned_data["q"].split()[:10] if self.is_valid() else []


class MatchFilterForm(forms.Form):
    min_score = forms.TypedChoiceField(
        label=_("Strength"),
        required=False,
        coerce=float,
        empty_value=None,
        choices=[("", _("Every suggestion"))]
        + [(str(floor), label) for floor, label in STRENGTHS if floor > 0],
        help_text=_("“Good match” shows good and strong matches."),
    )
    sector = TagFilterField(Tag.Kind.SECTOR, label=_("Sector"), empty_label=_("Any sector"))

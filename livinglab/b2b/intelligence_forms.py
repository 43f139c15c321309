"""Forms of market and user intelligence: the report filter, a report or brief, and the topics a firm user
follows. They parse only; ``services.intelligence`` decides."""

from django import forms
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .models import Report, Topic
from .services.intelligence import MIN_GROUP, eligible_campaigns


class TopicChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} — {obj.description}" if obj.description else obj.name


class ReportFilterForm(forms.Form):
    topic = forms.ModelChoiceField(
        label=_("Topic"),
        queryset=Topic.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label=_("Any topic"),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *Report.Kind.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Report.Status.choices]
    )

    def __init__(self, *args, staff=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not staff:
            del self.fields["status"]

    def filters(self) -> dict:
        """The valid filters (an invalid one is left out and shown as an error)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else getattr(self, "cleaned_data", {})
        return {key: data.get(key) or None for key in self.fields}


class ReportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=Report.Kind.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "A user-insight brief shows aggregated, anonymous figures from the campaigns you choose, frozen "
            "when you publish it."
        ),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("Summary"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Two or three sentences; the digest e-mail quotes them."),
    )
    body = forms.CharField(
        label=_("Findings"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_(
            "For a brief: aggregated findings only. Never name people, and never quote an e-mail address, a "
            "phone number or a participant's own words: publishing is refused if the text holds an e-mail "
            "address or a phone number."
        ),
    )
    topics = TopicChoiceField(
        label=_("Topics"),
        queryset=Topic.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Firms following these topics find the report in their digest."),
    )
    campaigns = forms.ModelMultipleChoiceField(
        label=_("Campaigns the brief draws on"),
        queryset=eligible_campaigns(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Only for a user-insight brief. Campaigns that are running, being analysed or closed. A figure "
            "resting on fewer than %(n)s people is not shown."
        )
        % {"n": MIN_GROUP},
    )
    publisher = forms.ModelChoiceField(label=_("Published by"), queryset=None, empty_label=None)

    def __init__(self, *args, publishers=(), **kwargs):
        super().__init__(*args, **kwargs)
        publishers = list(publishers)
        self.fields["publisher"].queryset = Organisation.objects.filter(pk__in=[p.pk for p in publishers])
        if len(publishers) <= 1:
            del self.fields["publisher"]
            self.only_publisher = publishers[0] if publishers else None
        else:
            self.only_publisher = None

    def clean(self):
        data = super().clean()
        if data.get("kind") == Report.Kind.INSIGHT and not data.get("campaigns"):
            self.add_error("campaigns", _("Choose the campaigns the brief draws on."))
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "title": data["title"],
            "summary": data["summary"],
            "body": data["body"],
            "topics": data["topics"],
            "campaigns": data["campaigns"] if data["kind"] == Report.Kind.INSIGHT else [],
            "publisher": data.get("publisher") or self.only_publisher,
        }


class SubscriptionForm(forms.Form):
    topics = TopicChoiceField(
        label=_("Topics in your digest"),
        queryset=Topic.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Tick none to stop the digest."),
    )

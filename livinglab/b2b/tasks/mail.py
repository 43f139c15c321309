"""What the B2B mails share: a mail's subject and body from its templates, and the cluster staff's
addresses."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from livinglab.models import Membership, Organisation
from livinglab.policy import CLUSTER_ROLES


def render(template: str, context: dict) -> tuple[str, str]:
    """The subject (on one line) and body of ``b2b/mail/<template>``, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"b2b/mail/{template}_subject.txt", context).split())
        body = render_to_string(f"b2b/mail/{template}.txt", context)
    return subject, body


def staff_addresses(cluster_id: int | None = None) -> list[str]:
    """The active managers and coordinators of one cluster organisation, or of every cluster when
    ``cluster_id`` is not given."""
    staff = Membership.objects.active().filter(
        organisation__kind=Organisation.Kind.CLUSTER, role__in=CLUSTER_ROLES
    )
    if cluster_id is not None:
        staff = staff.filter(organisation_id=cluster_id)
    return staff.addresses()

"""Partner API tokens of a firm's point of sale."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

# --------------------------------------------------------------------------------------------------
# Partner API tokens


class PartnerToken(models.Model):
    """A firm's key to the partner API for its point of sale. Only the SHA-256 hash of the secret is
    stored; the first characters are kept so that people can tell their tokens apart. A request made
    with a token acts on behalf of the person who created it, limited to the token's scopes."""

    class Scope(models.TextChoices):
        CHECK = "check", _("Check a voucher code")
        REDEEM = "redeem", _("Redeem a voucher")
        REVERSE = "reverse", _("Reverse a redemption")

    PREFIX_LENGTH = 8

    firm = models.ForeignKey(
        Organisation, verbose_name=_("firm"), on_delete=models.CASCADE, related_name="partner_tokens"
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("Which till or system uses it."))
    prefix = models.CharField(_("token starts with"), max_length=PREFIX_LENGTH)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("partner API token")
        ordering = ["firm", "-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

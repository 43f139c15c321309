"""Partner API tokens of a firm's point of sale, and the limit on failed code lookups that keeps codes
from being guessed through the API.

A token's secret is shown once, when it is created; only its SHA-256 hash is stored, and a request's
token is found by the hash of what it presents, so no secret is ever compared character by character.
"""

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Organisation, User

from .errors import VoucherError
from .models import PartnerToken

logger = logging.getLogger(__name__)

SECRET_BYTES = 32  # 256 bits from ``secrets``, 43 URL-safe characters

# Failed lookups (malformed or unknown codes) allowed per firm and per client address in one window.
# A firm's tills may share an address with other firms (a point-of-sale provider), hence the higher
# limit per address.
FAILURE_WINDOW_SECONDS = settings.VOUCHER_API_FAILURE_WINDOW_SECONDS
FAILURES_PER_FIRM = settings.VOUCHER_API_FAILURES_PER_FIRM
FAILURES_PER_ADDRESS = settings.VOUCHER_API_FAILURES_PER_ADDRESS


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_manager(acting_user, firm: Organisation) -> None:
    if acting_user is None or not acting_user.has_perm("vouchers.manage_partner_tokens", firm):
        raise VoucherError(_("You cannot manage the API tokens of %(firm)s.") % {"firm": firm})


@transaction.atomic
def create_partner_token(
    firm: Organisation, name: str, scopes, *, acting_user: User
) -> tuple[PartnerToken, str]:
    """Create an API token for ``firm``'s point of sale; the secret is returned once and never stored."""
    _require_manager(acting_user, firm)
    scopes = sorted(set(scopes))
    if not scopes or any(scope not in PartnerToken.Scope.values for scope in scopes):
        raise VoucherError(_("Choose what the token may do: check, redeem and/or reverse."))
    name = (name or "").strip()
    if not name:
        raise VoucherError(_("Give the token a name, such as the till that uses it."))
    secret = secrets.token_urlsafe(SECRET_BYTES)
    token = PartnerToken.objects.create(
        firm=firm,
        name=name[:100],
        prefix=secret[: PartnerToken.PREFIX_LENGTH],
        secret_hash=hash_secret(secret),
        scopes=scopes,
        created_by=acting_user,
    )
    audit.record(
        "vouchers.partnertoken.create",
        actor=acting_user,
        obj=token,
        organisation=firm,
        data={"scopes": scopes, "prefix": token.prefix},
    )
    return token, secret


@transaction.atomic
def revoke_partner_token(token: PartnerToken, *, acting_user: User) -> PartnerToken:
    """Revoke a token at once: requests made with it are refused from now on."""
    _require_manager(acting_user, token.firm)
    revoked = PartnerToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    if revoked:
        audit.record(
            "vouchers.partnertoken.revoke",
            actor=acting_user,
            obj=token,
            organisation=token.firm,
            data={"prefix": token.prefix},
        )
    return token


def authenticate_token(secret: str) -> PartnerToken | None:
    """The active token whose secret this is, or None."""
    if not secret or len(secret) > 200:
        return None
    digest = hash_secret(secret)
    token = (
        PartnerToken.objects.select_related("firm", "created_by")
        .filter(secret_hash=digest, revoked_at__isnull=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.secret_hash, digest):
        return None
    if token.created_by is None or not token.created_by.is_active:
        return None
    now = timezone.now()
    PartnerToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    return token


# ------------------------------------------------------------------------------------ failed lookups


@dataclass(frozen=True)
class Lockout:
    retry_after: int  # seconds


def _window() -> tuple[int, int]:
    """The current fixed window's number and the seconds until it ends."""
    now = time.time()
    number = int(now // FAILURE_WINDOW_SECONDS)
    return number, max(1, int((number + 1) * FAILURE_WINDOW_SECONDS - now) + 1)


def _keys(firm_id: int, address: str) -> list[tuple[str, int, str]]:
    number = _window()[0]
    address_digest = hashlib.sha256(address.encode()).hexdigest()[:16]
    return [
        (f"vouchers:api:failures:firm:{firm_id}:{number}", FAILURES_PER_FIRM, "firm"),
        (f"vouchers:api:failures:address:{address_digest}:{number}", FAILURES_PER_ADDRESS, "address"),
    ]


def lockout(firm_id: int, address: str) -> Lockout | None:
    """The lockout in force for this firm or client address, if either has failed too often."""
    retry_after = _window()[1]
    counts = cache.get_many([key for key, _limit, _scope in _keys(firm_id, address)])
    for key, limit, _scope in _keys(firm_id, address):
        if counts.get(key, 0) >= limit:
            return Lockout(retry_after)
    return None


def record_failed_lookup(
    token: PartnerToken | None, address: str, *, firm: Organisation | None = None
) -> Lockout | None:
    """Count a failed lookup against the token's firm and the client address (atomically: ``add``
    creates the counter, ``incr`` is atomic in Redis); lock out and alert when a limit is reached.
    The firm's web redemption page has no token: it passes ``firm`` and shares the same counters."""
    retry_after = _window()[1]
    reached = None
    firm = token.firm if token is not None else firm
    for key, limit, scope in _keys(firm.pk, address):
        cache.add(key, 0, timeout=FAILURE_WINDOW_SECONDS * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # the counter expired between add and incr
            cache.add(key, 1, timeout=FAILURE_WINDOW_SECONDS * 2)
            count = 1
        if count >= limit:
            reached = Lockout(retry_after)
        if count == limit:
            _alert_lockout(token, firm, scope, limit)
    return reached


def _alert_lockout(token: PartnerToken | None, firm: Organisation, scope: str, limit: int) -> None:
    logger.warning(
        "Voucher API lookups locked out after %s failures: %s of firm %s, %s",
        limit,
        scope,
        firm.pk,
        f"token {token.prefix}…" if token is not None else "web redemption page",
    )
    with transaction.atomic():
        audit.record(
            "vouchers.api.lockout",
            actor=None,
            obj=token if token is not None else firm,
            organisation=firm,
            data={"scope": scope, "failures": limit, "window_seconds": FAILURE_WINDOW_SECONDS},
        )

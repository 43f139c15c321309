"""Signed links in e-mails (confirm a membership, answer an invitation). A link carries the object's id and
a per-object nonce, signed with the site's secret and timestamped; it cannot be guessed or altered, and it
explains itself when it is too old or has been used."""

from datetime import timedelta

from django.core import signing

CONFIRMATION_SALT = "pilots.membership.confirm"
INVITATION_SALT = "pilots.invitation.answer"
CONFIRMATION_MAX_AGE = timedelta(days=60)


class LinkProblem(Exception):
    """Why a link cannot be used: ``"invalid"`` (altered or mistyped) or ``"expired"``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def sign(obj, salt: str) -> str:
    return signing.dumps([obj.pk, obj.nonce if hasattr(obj, "nonce") else obj.confirmation_nonce], salt=salt)


def unsign(token: str, salt: str, max_age: timedelta | None = None) -> tuple[int, str]:
    """(id, nonce) from a link; LinkProblem when it was altered or is older than ``max_age``."""
    try:
        pk, nonce = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkProblem("expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkProblem("invalid") from None
    if not isinstance(pk, int) or not isinstance(nonce, str):
        raise LinkProblem("invalid")
    return pk, nonce


def confirmation_token(membership) -> str:
    return sign(membership, CONFIRMATION_SALT)


def invitation_token(invitation) -> str:
    return sign(invitation, INVITATION_SALT)

"""Thin Celery tasks of pre-commercial procurement: they take ids and are safe to retry. Celery discovers
this package; each part keeps its tasks in its own module."""

from .awards import *  # noqa: F403
from .bids import *  # noqa: F403
from .calls import *  # noqa: F403
from .clarifications import *  # noqa: F403
from .ocds import *  # noqa: F403

"""Thin Celery tasks of user panels: they take ids and are safe to retry. Celery discovers this package;
each part keeps its tasks in its own module."""

from .campaigns import *  # noqa: F403
from .competitions import *  # noqa: F403
from .imports import *  # noqa: F403
from .invitations import *  # noqa: F403
from .panels import *  # noqa: F403
from .questionnaires import *  # noqa: F403
from .results import *  # noqa: F403
from .rights import *  # noqa: F403
from .sessions import *  # noqa: F403

"""Thin Celery tasks of the B2B channel: they take ids and are safe to retry. Celery discovers this
package; each part keeps its tasks in its own module."""

from .events import *  # noqa: F403
from .intelligence import *  # noqa: F403
from .introductions import *  # noqa: F403
from .matching import *  # noqa: F403
from .providers import *  # noqa: F403

"""The embedded default: SQLite file, tasks in-process, e-mail on the console; needs no environment."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", True)
SECRET_KEY = env.str("SECRET_KEY", "dev-only-insecure-key-never-use-in-production-3f9a1c")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

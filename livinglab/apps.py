from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LivinglabConfig(AppConfig):
    name = "livinglab"
    verbose_name = _("Living lab core")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the permissions services ask about (user.has_perm) in every process: web, worker, command.
        from . import policy  # noqa: F401

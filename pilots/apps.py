from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PilotsConfig(AppConfig):
    name = "pilots"
    verbose_name = _("User panels and test campaigns")

    def ready(self):
        from . import handlers  # noqa: F401  (connects the signal receivers)

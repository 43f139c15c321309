from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PilotsConfig(AppConfig):
    name = "pilots"
    verbose_name = _("User panels and test campaigns")

    def ready(self):
        from . import campaign_handlers, handlers  # noqa: F401  (connect the signal receivers)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class B2BConfig(AppConfig):
    name = "livinglab.b2b"
    label = "b2b"
    verbose_name = _("Business to business")

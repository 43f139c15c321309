"""Every PDF is HTML rendered by WeasyPrint from a template under templates/pdf/."""

import threading

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

_local = threading.local()


def _font_config() -> FontConfiguration:
    # A new FontConfiguration for every PDF (WeasyPrint's default) leaks about 0.25 MB per document in a
    # long-lived worker (measured with bench/issue_pdfs.py); one per thread keeps memory flat. Per thread,
    # not per process, because a configuration is not safe to share between concurrent renders.
    config = getattr(_local, "font_config", None)
    if config is None:
        config = _local.font_config = FontConfiguration()
    return config


def render_pdf(template_name: str, context: dict) -> bytes:
    html = render_to_string(template_name, context)
    # base_url lets templates refer to local files only; nothing is fetched from the network.
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=_font_config())

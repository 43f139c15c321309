"""Open contracting data for everyone: an index page, the releases and the record of each contracting process,
and the bulk release package of every published procurement (streamed)."""

import json
from datetime import UTC, datetime, time

from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from livinglab.views import paginate

from . import ocds
from .models import Phase

JSON = "application/json; charset=utf-8"


def _links(request) -> ocds.Links:
    return ocds.Links(request.build_absolute_uri("/"))


def _download(request, response, filename: str):
    """``?download=1`` saves the file instead of showing it."""
    if request.GET.get("download") == "1":
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _json(request, data: dict, filename: str) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return _download(request, HttpResponse(body, content_type=JSON), filename)


def _process(request, ocid: str) -> list[dict]:
    found = ocds.releases_of(ocid, links=_links(request))
    if found is None:
        raise Http404(_("No published contracting process has this identifier."))
    return found[1]


@require_GET
def ocds_index(request):
    """Every published procurement with its contracting processes and links to their data."""
    procurements = (
        ocds.published_procurements()
        .select_related("buyer")
        .prefetch_related(Prefetch("phases", queryset=Phase.objects.order_by("number")))
        .order_by("-published_at", "-pk")
    )
    page = paginate(request, procurements)
    for procurement in page:
        procurement.ocds_phases = procurement.phases.all() if ocds.phases_published(procurement) else []
    return render(
        request,
        "procurement/ocds/index.html",
        {"procurements": page, "ocds_version": ocds.OCDS_VERSION, "prefix": settings.OCDS_PREFIX},
    )


@require_GET
def ocds_releases(request, ocid: str):
    """The release package of one contracting process (the planning process or a phase)."""
    releases = _process(request, ocid)
    package = ocds.release_package(
        releases, uri=request.build_absolute_uri(request.path), links=_links(request)
    )
    return _json(request, package, f"{ocid}-releases.json")


@require_GET
def ocds_record(request, ocid: str):
    """The record package of one contracting process: its releases, compiled and versioned."""
    releases = _process(request, ocid)
    links = _links(request)
    package = ocds.record_package(
        ocid,
        releases,
        uri=request.build_absolute_uri(request.path),
        links=links,
        releases_uri=links.url("ocds_releases", ocid),
    )
    return _json(request, package, f"{ocid}-record.json")


def _since(value: str) -> datetime | None:
    """``?since=`` as an aware datetime: a date (midnight UTC) or a date and time (UTC when no offset)."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment = datetime.combine(day, time(0, 0))
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


@require_GET
def ocds_bulk(request):
    """The release package of every published procurement, written as it is read from the database."""
    since = None
    if request.GET.get("since"):
        try:
            since = _since(request.GET["since"])
        except ValueError:
            return render(
                request, "procurement/ocds/bad_since.html", {"value": request.GET["since"]}, status=400
            )
    uri = request.build_absolute_uri(reverse("procurement:ocds_bulk"))
    if since is not None:
        uri += "?since=" + ocds.stamp(since)
    response = StreamingHttpResponse(
        ocds.stream_release_package(uri=uri, links=_links(request), since=since), content_type=JSON
    )
    return _download(request, response, "releases.json")

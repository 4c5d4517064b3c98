"""Searching the findings index: the same criteria and the same answers on PostgreSQL and on SQLite.

PostgreSQL matches a ``websearch_to_tsquery`` against the stored vector (GIN index), ranks with ``ts_rank`` and
cuts snippets with ``ts_headline``. SQLite matches the same query, translated to FTS5's syntax, against the FTS5
table, ranks with ``bm25`` and cuts snippets with ``snippet``. A page costs the same few queries whatever it holds:
the totals, one page of files, and the best hits of those files.
"""

import datetime
import html
import re
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import Count, F, FloatField, Func, IntegerField, Max, QuerySet, Value, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber, Substr
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from deliverables.models import FinalMmif
from search.models import CONFIG, Finding

FILES_PER_PAGE = 20
HITS_PER_FILE = 5
SNIPPET_WORDS = 24
# What marks a matched word inside a snippet until it is escaped; then it becomes <mark>.
START, STOP = "\u27e6", "\u27e7"
FTS_TABLE = "search_finding_fts"


@dataclass(frozen=True)
class Criteria:
    q: str = ""
    label: str = ""
    app: str = ""
    pipeline: int | None = None
    batch: int | None = None
    since: datetime.date | None = None
    until: datetime.date | None = None
    final: bool = False
    start_from: float | None = None
    start_to: float | None = None


@dataclass
class FileHits:
    media_file_id: int
    guid: str
    total: int
    hits: list[Finding] = field(default_factory=list)


@dataclass
class Results:
    total_hits: int
    total_files: int
    page: int
    pages: int
    files: list[FileHits]


def matching(criteria: Criteria) -> QuerySet[Finding]:
    """The findings that meet ``criteria``, with a ``rank``. (A retried run's findings leave the index as its
    retry's are written: search/indexing.py.)"""
    found = Finding.objects.all()
    if criteria.label:
        found = found.filter(label=criteria.label)
    if criteria.app:
        found = found.filter(app=criteria.app)
    if criteria.pipeline:
        found = found.filter(pipeline_id=criteria.pipeline)
    if criteria.batch:
        found = found.filter(batch_id=criteria.batch)
    if criteria.since:
        found = found.filter(found_at__date__gte=criteria.since)
    if criteria.until:
        found = found.filter(found_at__date__lte=criteria.until)
    if criteria.start_from is not None:
        found = found.filter(start__gte=criteria.start_from)
    if criteria.start_to is not None:
        found = found.filter(start__lte=criteria.start_to)
    if criteria.final:
        found = found.filter(run_id__in=FinalMmif.objects.values("run_id"))
    if not criteria.q:
        return found.annotate(rank=Value(0.0, output_field=FloatField()))
    if connection.vendor == "postgresql":
        query = SearchQuery(criteria.q, search_type="websearch", config=CONFIG)
        return found.filter(words=query).annotate(rank=SearchRank(F("words"), query))
    match = fts5_query(criteria.q)
    if not match:
        return found.none().annotate(rank=Value(0.0, output_field=FloatField()))
    return found.filter(id__in=RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match])).annotate(
        rank=RawSQL(
            f"SELECT -bm25({FTS_TABLE}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid = search_finding.id",
            [match],
            output_field=FloatField(),
        )
    )


def search(criteria: Criteria, page: int = 1, per_page: int = FILES_PER_PAGE) -> Results:
    """One page of the media files with findings that meet ``criteria``, best first, each with its best hits
    (at most ``HITS_PER_FILE``, each with a ``snippet`` and the ``url`` of its moment), and the totals.

    Two queries, whatever the page holds (three past the last page)."""
    found = matching(criteria)
    page = max(1, page)
    rows = _files(found, page, per_page)
    if not rows and page > 1:  # past the last page: the last one
        first = _files(found, 1, 1)
        page = max(1, -(-first[0]["files"] // per_page)) if first else 1
        rows = _files(found, page, per_page)
    total_hits, total_files = (rows[0]["hits"], rows[0]["files"]) if rows else (0, 0)
    pages = max(1, -(-total_files // per_page))
    by_file = {row["media_file_id"]: FileHits(row["media_file_id"], "", row["total"]) for row in rows}
    if by_file:
        best_first = Window(
            RowNumber(),
            partition_by=[F("media_file_id")],
            order_by=[F("rank").desc(), F("start").asc(nulls_last=True), F("id").asc()],
        )
        hits = (
            found.filter(media_file_id__in=list(by_file))
            .annotate(
                place=best_first,
                excerpt=_excerpt(criteria),
                step_position=F("step__position"),
                guid=F("media_file__guid"),
            )
            .filter(place__lte=HITS_PER_FILE)
            .select_related("batch", "pipeline")
            .defer("text")
            .order_by("media_file_id", "place")
        )
        for hit in hits:
            hit.snippet, hit.url = snippet_html(hit.excerpt), hit_url(hit)
            file = by_file[hit.media_file_id]
            file.guid = hit.guid
            file.hits.append(hit)
    return Results(total_hits, total_files, page, pages, list(by_file.values()))


class OverAllGroups(Func):
    """An aggregate over every group of a grouped query, beside each group's own: the totals ride along with the
    page of files, so the matching rows are read once."""

    contains_aggregate = True
    output_field = IntegerField()

    def __init__(self, template: str):
        super().__init__(template=template)


def _files(found: QuerySet[Finding], page: int, per_page: int) -> list[dict]:
    """The page's files (``media_file_id``, ``total`` hits, ``best`` rank), each with the ``hits`` and ``files``
    of every page."""
    return list(
        found.values("media_file_id")
        .annotate(
            total=Count("id"),
            best=Max("rank"),
            hits=OverAllGroups("SUM(COUNT(*)) OVER ()"),
            files=OverAllGroups("COUNT(*) OVER ()"),
        )
        .order_by("-best", "media_file_id")[(page - 1) * per_page : page * per_page]
    )


def hit_url(hit: Finding) -> str:
    """The findings viewer of the hit's run, on its step's output and view, the player at the hit's start."""
    query = {"source": f"step-{hit.step_position}", "view": hit.view_id}
    if hit.start is not None:
        query["t"] = f"{hit.start:g}"
    return f"{reverse('findings:run_findings', args=[hit.run_id])}?{urlencode(query)}"


def _excerpt(criteria: Criteria):
    """The part of a hit's text to show, with the matched words between ``START`` and ``STOP``."""
    if not criteria.q:
        return Substr("text", 1, 300)
    if connection.vendor == "postgresql":
        query = SearchQuery(criteria.q, search_type="websearch", config=CONFIG)
        return SearchHeadline(
            "text", query, config=CONFIG, start_sel=START, stop_sel=STOP, max_words=SNIPPET_WORDS, min_words=8
        )
    return RawSQL(
        f"SELECT snippet({FTS_TABLE}, 0, %s, %s, '…', %s) FROM {FTS_TABLE} "
        f"WHERE {FTS_TABLE} MATCH %s AND rowid = search_finding.id",
        [START, STOP, SNIPPET_WORDS, fts5_query(criteria.q)],
    )


def snippet_html(excerpt: str | None) -> SafeString:
    """The excerpt escaped, its matched words in ``<mark>``."""
    escaped = html.escape(excerpt or "")
    return mark_safe(escaped.replace(START, "<mark>").replace(STOP, "</mark>"))


WORD = re.compile(r"\w+")
TERM = re.compile(r'-?"[^"]*"?|\S+')


def fts5_query(text: str) -> str:
    """A websearch query (``words``, ``"a phrase"``, ``-word``, ``or``) as FTS5 query syntax, meaning what
    PostgreSQL's ``websearch_to_tsquery`` means: every term, either side of ``or``, none of the ``-`` terms.

    Every term is quoted, so no input is an FTS5 syntax error. "" when nothing is left to match.
    """
    groups: list[list[str]] = []
    leave_out: list[str] = []
    either = False
    for term in TERM.findall(text):
        negative = term.startswith("-") and len(term) > 1
        words = WORD.findall(term)
        if not negative and term.lower() == "or":
            either = bool(groups)
            continue
        if not words:
            continue
        quoted = '"' + " ".join(words) + '"'
        if negative:
            leave_out.append(quoted)
        elif either:
            groups[-1].append(quoted)
        else:
            groups.append([quoted])
        either = False
    if not groups:
        return ""
    query = " AND ".join(f"({' OR '.join(group)})" if len(group) > 1 else group[0] for group in groups)
    return query + "".join(f" NOT {term}" for term in leave_out)

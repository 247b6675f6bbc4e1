"""A loopback HTTP server that answers like Crossref and OpenAlex, from recorded real responses.

Every work record, error body and rate-limit header it sends comes from the recordings in
`../shared/fixtures/apis/` (see its README): works by DOI or OpenAlex id are replayed as
recorded; a bibliographic query or search is answered with the recorded works ranked by how
well they match the query (the ranking is this server's, the records are real). What cannot be
recorded is simulated and labelled so: the documented limits (Crossref public 5 req/s with 1
concurrent, polite 10 req/s with 3; OpenAlex 100 req/s and a daily allowance charged per list or
search call), answered with 429 like the services; and faults injected on request (429 storms
with Retry-After, 503, slow answers, connection resets, malformed JSON, HTML error pages, a
service down). Open-access PDF links can be pointed at this server, which then serves generated
papers in their place (the recordings hold no PDFs).

The server keeps its own books, per service: arrivals, the most requests seen in any one-second
window, the most in flight at once, statuses sent, 429s caused by a client exceeding a limit.
Tests and the benchmark assert on these, not on what the client believes it did.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from rapidfuzz import fuzz

CROSSREF, OPENALEX = "crossref", "openalex"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
HTML_429 = ("<html><body><h1>429 Too Many Requests</h1>You have sent too many requests in a given "
            "amount of time.</body></html>")  # reported by Crossref users (README: hearsay about the format)
HTML_503 = "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service " \
           "Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>"
COST_USD = {"singleton": 0.0, "list": 0.0001, "search": 0.001}  # OpenAlex's documented prices


def default_fixtures() -> Path:
    """$PIPELINE_API_FIXTURES, else ../shared/fixtures/apis beside the project (as in CI)."""
    return Path(os.environ.get("PIPELINE_API_FIXTURES") or PROJECT_ROOT.parent / "shared" / "fixtures" / "apis")


@dataclass
class Limits:
    rate: float  # requests per window
    concurrency: int | None  # None: not limited
    window: float = 1.0


@dataclass
class Books:
    """What the server saw of one service."""

    arrivals: list[float] = field(default_factory=list)
    active: int = 0
    max_active: int = 0
    statuses: Counter = field(default_factory=Counter)
    limit_violations: int = 0  # 429s sent because the client exceeded a documented limit
    injected: Counter = field(default_factory=Counter)  # faults sent on purpose, by kind
    fault_times: list = field(default_factory=list)  # (monotonic time answered, kind)
    answers: list = field(default_factory=list)  # (monotonic time answered, status)
    paths: Counter = field(default_factory=Counter)
    spent_usd: float = 0.0

    def max_per_window(self, window: float = 1.0) -> int:
        best, start = 0, 0
        times = sorted(self.arrivals)
        for end, t in enumerate(times):
            while times[start] <= t - window:
                start += 1
            best = max(best, end - start + 1)
        return best


class Catalog:
    """The recorded works, errors and headers, indexed for replay."""

    def __init__(self, root: Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"no recorded API responses at {self.root} (set PIPELINE_API_FIXTURES)")
        self.files = {p.relative_to(self.root).as_posix(): json.loads(p.read_text()) for p in
                      sorted(self.root.glob("*/*.json"))}
        self.crossref: dict[str, dict] = {}
        self.openalex: dict[str, dict] = {}  # by W id and by lower-case DOI
        for name, rec in self.files.items():
            body = rec["response"]["body"]
            if not isinstance(body, dict) or rec["response"]["status"] != 200:
                continue
            if name.startswith("crossref/") and isinstance(body.get("message"), dict):
                msg = body["message"]
                for item in msg.get("items", [msg] if "DOI" in msg else []):
                    key = (item.get("DOI") or "").lower()
                    if key and item.get("title") and len(item) > len(self.crossref.get(key, {})):
                        self.crossref[key] = item  # the fullest recording of a work
            elif name.startswith("openalex/"):
                for item in body.get("results", [body] if "id" in body else []) or []:
                    if item.get("id") and item.get("display_name"):
                        self.openalex.setdefault(item["id"].rsplit("/", 1)[-1], item)
                        if item.get("doi"):
                            self.openalex.setdefault(item["doi"].lower().replace("https://doi.org/", ""), item)

    def recorded(self, name_prefix: str) -> dict:
        return next(v for k, v in self.files.items() if k.startswith(name_prefix))

    def headers(self, name_prefix: str) -> dict:
        return dict(self.recorded(name_prefix)["response"]["headers"])

    def openalex_works(self) -> list[dict]:
        return list({id(w): w for w in self.openalex.values()}.values())


def _crossref_fields(item: dict) -> tuple[str, str, str]:
    year = ((item.get("issued") or {}).get("date-parts") or [[None]])[0][0]
    family = ((item.get("author") or [{}])[0]).get("family", "")
    return " ".join(item.get("title", [])), family, str(year or "")


def _openalex_fields(item: dict) -> tuple[str, str, str]:
    first = ((item.get("authorships") or [{}])[0].get("author") or {}).get("display_name", "")
    return item.get("display_name", ""), (first.split() or [""])[-1], str(item.get("publication_year") or "")


def rank(query: str, records: list[dict], fields_of, rows: int, floor: float = 60.0) -> list[tuple[float, dict]]:
    """This server's stand-in for the services' relevance ranking: how much of the title appears in
    the query, plus the first author's name and the year."""
    q = query.lower()
    scored = []
    for record in records:
        title, family, year = fields_of(record)
        if not title:
            continue
        value = 0.7 * fuzz.partial_ratio(title.lower(), q) if len(title) <= len(q) else 0.7 * fuzz.ratio(title.lower(), q)
        value += 15.0 if family and family.lower() in q else 0.0
        value += 15.0 if year and year in q else 0.0
        scored.append((round(value, 3), record))
    scored = [s for s in scored if s[0] >= floor]
    return sorted(scored, key=lambda s: -s[0])[:rows]


class Faults:
    """Faults to inject, per service: a queue of one-shot faults and a 'down' switch."""

    KINDS = ("429", "429_html", "503", "slow", "reset", "malformed_json", "html_200", "daily_limit")

    def __init__(self):
        self.queue: dict[str, deque] = defaultdict(deque)
        self.down: dict[str, str | None] = {}  # service -> "reset" | "503" while down
        self.lock = threading.Lock()

    def add(self, service: str, kind: str, count: int = 1, **params) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {self.KINDS}")
        with self.lock:
            self.queue[service].extend([(kind, params)] * count)

    def take(self, service: str) -> tuple[str, dict] | None:
        with self.lock:
            if self.down.get(service):
                return self.down[service], {}
            return self.queue[service].popleft() if self.queue[service] else None

    def clear(self) -> None:
        with self.lock:
            self.queue.clear()
            self.down.clear()

    def set_down(self, service: str, how: str | None = "503") -> None:
        """Every request to `service` fails (`503` or `reset`) until set_down(service, None)."""
        with self.lock:
            self.down[service] = how


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # injected resets and clients that hang up are expected here


class ApiReplay:
    """`with ApiReplay() as api:` → api.base_url(CROSSREF), api.base_url(OPENALEX), api.books[...]"""

    def __init__(self, fixtures: Path | None = None, *, latency: float = 0.0, enforce_limits: bool = True,
                 openalex_daily_usd: float = 1.0, openalex_rate: float = 100.0, openalex_concurrency: int | None = None,
                 pdf_files: dict[str, bytes] | None = None, host: str = "127.0.0.1", offline_pdfs: bool = True):
        self.catalog = Catalog(fixtures or default_fixtures())
        self.latency = latency
        self.enforce_limits = enforce_limits
        self.openalex_daily_usd = openalex_daily_usd
        self.limits = {
            ("crossref", "public"): Limits(5, 1), ("crossref", "polite"): Limits(10, 3),
            ("openalex", "key"): Limits(openalex_rate, openalex_concurrency),
        }
        self.faults = Faults()
        self.books: dict[str, Books] = defaultdict(Books)
        self.pdf_files: dict[str, bytes] = dict(pdf_files or {})  # /files/<name> → bytes
        self.offline_pdfs = offline_pdfs  # recorded PDF links point here (404 unless served): no internet needed
        self.oa_pdf_redirect: dict[str, str] = {}  # OpenAlex work id → file name served here
        self.lock = threading.Lock()
        self.httpd = _QuietServer((host, 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="api-replay")

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def base_url(self, service: str) -> str:
        return f"{self.url}/{service}"

    def __enter__(self) -> "ApiReplay":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset_books(self) -> None:
        with self.lock:
            self.books = defaultdict(Books)
        self.faults.clear()

    def reset(self) -> None:
        """Clean books, no faults, and no PDFs served: as freshly started (a shared server between tests)."""
        self.reset_books()
        with self.lock:
            self.pdf_files.clear()
            self.oa_pdf_redirect.clear()

    def books_summary(self) -> dict:
        with self.lock:
            return {name: {"requests": len(b.arrivals), "max_per_second": b.max_per_window(1.0),
                           "max_concurrent": b.max_active, "statuses": {str(k): v for k, v in b.statuses.items()},
                           "limit_violations": b.limit_violations, "injected": dict(b.injected),
                           "paths": dict(b.paths), "spent_usd": round(b.spent_usd, 4),
                           "arrivals": [round(t, 4) for t in b.arrivals],
                           "answers": [(round(t, 4), s) for t, s in b.answers]}
                    for name, b in self.books.items()}

    def serve_pdf_for(self, work_id: str, name: str, data: bytes) -> str:
        """Point an OpenAlex work's open-access PDF link at a file this server serves."""
        self.pdf_files[name] = data
        self.oa_pdf_redirect[work_id.rsplit("/", 1)[-1]] = name
        return f"{self.url}/files/{name}"

    # -- accounting --------------------------------------------------------------------------------
    def _arrive(self, service: str, pool: str, path: str) -> bool:
        """Record an arrival; False when it breaks the service's limits (answered with 429)."""
        limits = self.limits[(service, pool)]
        now = time.monotonic()
        with self.lock:
            books = self.books[service]
            books.arrivals.append(now)
            books.paths[path] += 1
            books.active += 1
            books.max_active = max(books.max_active, books.active)
            recent = sum(1 for t in books.arrivals[-int(limits.rate) - 2:] if t > now - limits.window)
            over = recent > limits.rate or (limits.concurrency is not None and books.active > limits.concurrency)
            if over and self.enforce_limits:
                books.limit_violations += 1
            return not (over and self.enforce_limits)

    def _leave(self, service: str, status: int) -> None:
        with self.lock:
            self.books[service].active -= 1
            self.books[service].statuses[status] += 1
            self.books[service].answers.append((time.monotonic(), status))

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in two writes; with Nagle's algorithm the body would wait ~40 ms for
            # the client's delayed ACK on every answer, a delay no real API adds
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._service, self._counted = None, False  # one handler serves a keep-alive connection
                parts = urlsplit(self.path)
                service, _, rest = parts.path.lstrip("/").partition("/")
                if service == "files":
                    return self._file(rest)
                if service == "_books":  # the server's own accounting, for a client in another process
                    return self._json(200, server.books_summary(), {})
                if service not in (CROSSREF, OPENALEX):
                    return self._send(404, "Not found.", "text/plain")
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                pool = self._pool(service, query)
                head, _, tail = rest.partition("/")
                label = f"/{head}/:id" if tail else f"/{head}"  # /works (list, search) or /works/:id (one work)
                self._service = service
                if not server._arrive(service, pool, label):
                    self._send(429, HTML_429, "text/html", {"Retry-After": "1"})
                    return
                try:
                    self._answer(service, pool, "/" + rest, query)
                finally:
                    self._done(599)  # no answer was sent (a reset)

            # -- routing ---------------------------------------------------------------------------
            def _pool(self, service: str, query: dict) -> str:
                if service == OPENALEX:
                    return "key"
                ua = self.headers.get("User-Agent", "")
                return "polite" if (query.get("mailto") or "mailto:" in ua) else "public"

            def _answer(self, service: str, pool: str, path: str, query: dict) -> int:
                fault = server.faults.take(service)
                if server.latency:
                    time.sleep(server.latency)
                if fault is not None:
                    done = self._fault(service, pool, *fault)
                    if done:
                        return done
                if service == CROSSREF:
                    return self._crossref(pool, path, query)
                return self._openalex(path, query)

            def _fault(self, service: str, pool: str, kind: str, params: dict) -> int:
                with server.lock:
                    server.books[service].injected[kind] += 1
                    server.books[service].fault_times.append((time.monotonic(), kind))
                headers = self._rate_headers(service, pool)
                if kind == "429":
                    headers["Retry-After"] = str(params.get("retry_after", 1))
                    return self._send(429, json.dumps({"status": "error", "message": "Too many requests"}),
                                      "application/json", headers)
                if kind == "429_html":
                    return self._send(429, HTML_429, "text/html", {"Retry-After": str(params.get("retry_after", 1))})
                if kind == "503":
                    return self._send(503, HTML_503, "text/html", {"Retry-After": str(params.get("retry_after", 1))}
                                      if params.get("retry_after") else {})
                if kind == "slow":
                    time.sleep(params.get("seconds", 5.0))
                    return 0  # then answer normally
                if kind == "reset":  # RST instead of an answer: the client sees "connection reset by peer"
                    self._done(599)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                    self.close_connection = True
                    return 599
                if kind == "malformed_json":
                    return self._send(200, '{"status":"ok","message-type":"work","message":{"DOI":"10.1',
                                      "application/json", headers)
                if kind == "html_200":
                    return self._send(200, "<!DOCTYPE html><html><body>Service maintenance</body></html>", "text/html")
                if kind == "daily_limit":
                    return self._send(429, json.dumps({"error": "Daily limit exceeded",
                                                       "message": "You have exceeded your daily budget."}),
                                      "application/json", {**headers, "Retry-After": "3600"})
                return 0

            # -- Crossref --------------------------------------------------------------------------
            def _crossref(self, pool: str, path: str, query: dict) -> int:
                headers = self._rate_headers(CROSSREF, pool)
                if path.startswith("/works/"):
                    doi = unquote(path[len("/works/"):]).lower()
                    item = server.catalog.crossref.get(doi)
                    if item is None:
                        return self._send(404, "Resource not found.", "text/plain", headers)
                    return self._json(200, {"status": "ok", "message-type": "work", "message-version": "1.0.0",
                                            "message": self._crossref_links(item)}, headers)
                if path.rstrip("/") == "/works":
                    text = " ".join(v for k, v in query.items() if k == "query" or k.startswith("query."))
                    rows = min(int(query.get("rows", 20)), 100)
                    hits = rank(text, list(server.catalog.crossref.values()), _crossref_fields, rows) if text else []
                    items = [self._select({**self._crossref_links(item), "score": round(score, 3)}, query.get("select"))
                             for score, item in hits]
                    return self._json(200, {"status": "ok", "message-type": "work-list", "message-version": "1.0.0",
                                            "message": {"facets": {}, "total-results": len(items), "items": items,
                                                        "items-per-page": rows,
                                                        "query": {"start-index": 0, "search-terms": text or None}}},
                                      headers)
                body = server.catalog.recorded("crossref/019")["response"]["body"]
                return self._json(404, body, headers)

            def _crossref_links(self, item: dict) -> dict:
                if not server.offline_pdfs or not item.get("link"):
                    return item
                doi = item.get("DOI", "work").replace("/", "_")
                return {**item, "link": [{**link, "URL": f"{server.url}/files/unavailable-{doi}.pdf"}
                                         for link in item["link"]]}

            @staticmethod
            def _select(item: dict, select: str | None) -> dict:
                if not select:
                    return item
                keep = {s.strip() for s in select.split(",")}
                return {k: v for k, v in item.items() if k in keep}

            # -- OpenAlex --------------------------------------------------------------------------
            def _openalex(self, path: str, query: dict) -> int:
                if path.startswith("/works/"):
                    key = unquote(path[len("/works/"):])
                    key = key.split("doi.org/", 1)[-1].removeprefix("doi:").lower() if "10." in key else key
                    item = server.catalog.openalex.get(key) or server.catalog.openalex.get(key.upper())
                    headers = self._charge("singleton")
                    if item is None:
                        recorded = server.catalog.recorded("openalex/007")["response"]
                        return self._send(404, recorded["body"], "text/html; charset=utf-8", headers)
                    return self._json(200, self._with_local_pdf(item), headers)
                if path.rstrip("/") == "/works":
                    kind = "search" if query.get("search") else "list"
                    if server.openalex_daily_usd - server.books[OPENALEX].spent_usd < COST_USD[kind]:
                        return self._send(429, json.dumps({"error": "Daily limit exceeded", "message":
                                          "Your daily budget is used up; it resets at midnight UTC."}),
                                          "application/json", {**self._charge(None), "Retry-After": "3600"})
                    headers = self._charge(kind)
                    text = query.get("search") or query.get("filter", "").partition(":")[2]
                    per_page = min(int(query.get("per_page") or query.get("per-page") or 25), 200)
                    hits = rank(text, server.catalog.openalex_works(), _openalex_fields, per_page)
                    results = [{**self._with_local_pdf(item), "relevance_score": round(score, 3)} for score, item in hits]
                    return self._json(200, {"meta": {"count": len(results), "db_response_time_ms": 12, "page": 1,
                                                     "per_page": per_page, "cost_usd": COST_USD[kind]},
                                            "results": results, "group_by": []}, headers)
                return self._json(404, {"error": "Not found", "message": f"no route {path}"}, {})

            def _with_local_pdf(self, item: dict) -> dict:
                work = item["id"].rsplit("/", 1)[-1]
                name = server.oa_pdf_redirect.get(work)
                if not name:
                    return self._offline(item, work) if server.offline_pdfs else item
                url = f"{server.url}/files/{name}"
                best = {**(item.get("best_oa_location") or {}), "pdf_url": url, "is_oa": True}
                return {**item, "best_oa_location": best,
                        "open_access": {**(item.get("open_access") or {}), "is_oa": True, "oa_url": url}}

            def _offline(self, item: dict, work: str) -> dict:
                """Recorded links to publishers' PDFs, pointed at this server (which answers 404)."""
                local = f"{server.url}/files/unavailable-{work}.pdf"
                item = dict(item)
                if (item.get("best_oa_location") or {}).get("pdf_url"):
                    item["best_oa_location"] = {**item["best_oa_location"], "pdf_url": local}
                if item.get("locations"):
                    item["locations"] = [{**loc, "pdf_url": local if loc.get("pdf_url") else None}
                                         for loc in item["locations"]]
                if (item.get("open_access") or {}).get("oa_url"):
                    item["open_access"] = {**item["open_access"], "oa_url": local}
                return item

            def _charge(self, kind: str | None) -> dict:
                with server.lock:
                    books = server.books[OPENALEX]
                    books.spent_usd += COST_USD.get(kind, 0.0) if kind else 0.0
                    remaining = max(0.0, server.openalex_daily_usd - books.spent_usd)
                headers = server.catalog.headers("openalex/001")
                headers.update({"x-ratelimit-limit-usd": f"{server.openalex_daily_usd:g}",
                                "x-ratelimit-remaining-usd": f"{remaining:.4f}",
                                "x-ratelimit-remaining": str(int(remaining * 10000)),
                                "x-ratelimit-cost-usd": f"{COST_USD.get(kind, 0.0) if kind else 0.0:g}"})
                return headers

            def _rate_headers(self, service: str, pool: str) -> dict:
                if service == OPENALEX:
                    return self._charge(None)
                recorded = server.catalog.headers("crossref/001" if pool == "public" else "crossref/003")
                limits = server.limits[(CROSSREF, pool)]
                recorded.update({"x-rate-limit-limit": f"{limits.rate:g}", "x-concurrency-limit": str(limits.concurrency)})
                return recorded

            # -- sending ---------------------------------------------------------------------------
            def _file(self, name: str) -> None:
                data = server.pdf_files.get(unquote(name))
                if data is None:
                    self._send(404, "Not found.", "text/plain")
                    return
                kind = "text/html" if data.lstrip()[:1] == b"<" else "application/pdf"
                self._send(200, data, kind)

            def _json(self, status: int, body, headers: dict) -> int:
                return self._send(status, json.dumps(body), "application/json", headers)

            def _done(self, status: int) -> None:
                """The request leaves the books once, just before its last bytes go out: after that
                the client may already be sending its next request."""
                service = getattr(self, "_service", None)
                if service and not getattr(self, "_counted", False):
                    self._counted = True
                    server._leave(service, status)

            def _send(self, status: int, body, content_type: str, headers: dict | None = None) -> int:
                data = body if isinstance(body, bytes) else str(body).encode("utf-8")
                skip = {"content-type", "content-length", "date", "connection", "transfer-encoding"}
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        if k.lower() not in skip:
                            self.send_header(k, v)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self._done(status)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                return status

        return Handler


# -- references to the recorded works, for tests and the benchmark -----------------------------------
@dataclass
class CitedWork:
    text: str  # the reference as a paper would print it
    doi: str | None  # the cited work's DOI, when it has one
    source: str  # crossref | openalex | unknown (a work no service holds: it must end unmatched)
    work_id: str | None = None  # the DOI (Crossref) or OpenAlex id of the cited work


def _as_reference(record: dict, service: str):
    from pipeline_project.samples.papers import Reference

    if service == CROSSREF:
        authors = [(a.get("family") or a.get("name") or "Anon", a.get("given") or "X")
                   for a in record.get("author", [])[:4]] or [("Anonymous", "X")]
        year = ((record.get("issued") or {}).get("date-parts") or [[2000]])[0][0] or 2000
        return Reference(authors, record["title"][0], int(year), (record.get("container-title") or ["Journal"])[0],
                         int(record.get("volume", "1").split("-")[0]) if str(record.get("volume", "1")).split("-")[0].isdigit() else 1,
                         1, 1, doi=record["DOI"].lower())
    names = [(a.get("author") or {}).get("display_name") or "Anon X" for a in record.get("authorships", [])[:4]]
    authors = [(n.split()[-1], n.split()[0]) for n in names if n.split()] or [("Anonymous", "X")]
    doi = (record.get("doi") or "").lower().replace("https://doi.org/", "") or None
    venue = (((record.get("primary_location") or {}).get("source") or {}).get("display_name")) or "Journal"
    return Reference(authors, record["display_name"], int(record.get("publication_year") or 2000), venue, 1, 1, 1, doi=doi)


def cite(record: dict, service: str, n: int = 1, style: str = "ieee", with_doi: bool = False) -> CitedWork:
    """One recorded work as a reference in a citation style (papers.STYLES)."""
    from pipeline_project.samples.papers import STYLES

    ref = _as_reference(record, service)
    doi = ref.doi
    if not with_doi:
        ref.doi = None
    work_id = doi if service == CROSSREF else record["id"].rsplit("/", 1)[-1]
    return CitedWork(STYLES[style](ref, n), doi, service, work_id)


def cited_works(catalog: Catalog, count: int, *, seed: int = 0, with_doi: float = 0.3, unknown: float = 0.1,
                ocr_noise: float = 0.05) -> list[CitedWork]:
    """`count` references to recorded works in rotating citation styles: some print their DOI,
    some carry OCR noise, some cite works no service holds (they must end unmatched)."""
    import random

    from pipeline_project.samples.papers import STYLES, random_reference

    rng = random.Random(seed)
    works = [(CROSSREF, r) for r in catalog.crossref.values() if r.get("author")] + \
            [(OPENALEX, r) for r in catalog.openalex_works() if r.get("authorships")]
    styles = list(STYLES.values())
    out = []
    for n in range(count):
        style = styles[n % len(styles)]
        if rng.random() < unknown:
            ref = random_reference(rng, 10_000 + n)
            ref.doi = ref.arxiv = None
            out.append(CitedWork(style(ref, n + 1), None, "unknown", None))
            continue
        service, record = works[rng.randrange(len(works))]
        ref = _as_reference(record, service)
        expected = ref.doi
        if rng.random() >= with_doi:
            ref.doi = None
        text = style(ref, n + 1)
        if rng.random() < ocr_noise:  # a scanner's confusions
            text = text.replace("rn", "m").replace("l", "1", 1)
        work_id = expected if service == CROSSREF else record["id"].rsplit("/", 1)[-1]
        out.append(CitedWork(text, expected, service, work_id))
    return out


def main(argv: list[str] | None = None) -> None:
    """`python -m pipeline_project.samples.api_replay [--latency 0.3]`: serve until Ctrl-C and print the
    settings that point the bibliography at it."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, default=None, help="recorded responses (default: ../shared/fixtures/apis)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    with ApiReplay(args.fixtures, latency=args.latency, host=args.host) as server:
        print(f"export PIPELINE_CROSSREF_BASE_URL={server.base_url(CROSSREF)}")
        print(f"export PIPELINE_OPENALEX_BASE_URL={server.base_url(OPENALEX)}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

"""The Scrapy side of a crawl: spider, redirect-loop guard and the item pipeline writing item files.

Runs only inside the crawl process (crawl_process.py): Scrapy's Twisted reactor cannot be restarted
in one process, so a Dagster run or the CLI starts a new process per crawl. Scrapy is imported
inside functions because every module under defs/ is imported whenever definitions load.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from pipeline_project.defs.web import config as web_config
from pipeline_project.defs.web.crawl_log import DUPLICATE, ERROR, PDF, SAVED, SKIPPED, CrawlLog
from pipeline_project.defs.web.extract import MIN_TEXT_CHARS, extract_main_text, readable_share
from pipeline_project.defs.web.items import doc_id_for_url, make_item, write_item
from pipeline_project.lib.atomic import write_bytes_atomic

_HTML_TYPES = ("text/html", "application/xhtml+xml")
MIN_READABLE_SHARE = 0.8  # below this the "text" is mostly undecodable bytes


def canonical(url: str) -> str:
    from w3lib.url import canonicalize_url

    return canonicalize_url(url, keep_fragments=False)


def decode_html(body: bytes, declared: str, scrapy_text) -> tuple[str, bool]:
    """The page's text and whether bytes had to be replaced. A page declared UTF-8 whose bytes are
    not (Windows-1252 served as UTF-8 is common) is read as Windows-1252 when that reads better."""
    declared = (declared or "").lower().replace("_", "-")
    if declared in ("utf-8", "utf8"):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            loose = body.decode("utf-8", "replace")
            bad = loose.count("\ufffd")
            good_multibyte = sum(1 for ch in loose if ord(ch) > 127 and ch != "\ufffd")
            if good_multibyte >= bad:
                return loose, True
            return body.decode("cp1252", "replace"), True
    text = scrapy_text()
    return text, "\ufffd" in text


def describe_failure(failure) -> tuple[str, str]:
    """(outcome, reason a person can read) for a request that did not produce a page."""
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TimeoutError as TxTimeout

    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        from http import HTTPStatus

        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "HTTP error"
        return ERROR, f"HTTP {status} {phrase}"
    message = str(exc) or type(exc).__name__
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in message:
            return SKIPPED, "disallowed by robots.txt"
        if "max redirections" in message:
            return ERROR, "too many redirects"
        return ERROR, message
    if "max size" in message or "maxsize" in message or "larger than download" in message:
        return ERROR, f"page larger than the size cap: {message}"
    kind = type(exc).__name__
    if isinstance(exc, DNSLookupError) or "DNSLookup" in kind or "Resolve" in kind:
        return ERROR, f"host not found: {urlsplit(failure.request.url).hostname}"
    if isinstance(exc, ConnectionRefusedError) or "ConnectionRefused" in kind:
        return ERROR, "connection refused (nothing listening at that address)"
    if isinstance(exc, TxTimeout) or "took longer than" in message or type(exc).__name__.endswith("TimeoutError"):
        return ERROR, f"timed out: {message}"
    return ERROR, f"{type(exc).__name__}: {message}"


class RedirectLoopMiddleware:
    """Turns a redirect back to a URL already visited in the same chain into an error.

    Without it Scrapy's duplicate filter silently drops the looping request, and the page would
    vanish from the counts instead of showing as an error with its reason."""

    def process_response(self, request, response, spider=None):
        if 300 <= response.status < 400 and b"Location" in response.headers:
            from scrapy.exceptions import IgnoreRequest

            target = canonical(response.urljoin(response.headers[b"Location"].decode("latin-1")))
            chain = [canonical(u) for u in request.meta.get("redirect_urls", [])] + [canonical(request.url)]
            if target in chain:
                raise IgnoreRequest("redirect loop: " + " → ".join(chain + [target]))
        return response


class ItemFilePipeline:
    """Writes one item file per saved page, atomically, the moment it is fetched.

    Counts pages saved against the page limit (errors and skips do not count), and drops a page
    whose text is the same as a page already saved in this crawl (an alias such as /index.html)."""

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.items_dir = Path(settings.get("PIPELINE_ITEMS_DIR"))
        self.page_limit = settings.getint("PIPELINE_PAGE_LIMIT")
        self.by_content: dict[str, str] = {}
        self.saved = 0

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def limit_reached(self) -> bool:
        return self.saved >= self.page_limit

    def process_item(self, item, spider=None):
        from scrapy.exceptions import DropItem

        page = item["page"]
        log: CrawlLog = self.crawler.spider.log
        first = self.by_content.get(page.content_hash)
        if first and first != page.final_url:
            log.event(DUPLICATE, page.url, final_url=page.final_url, same_as=first,
                           reason=f"same text as {first}")
            raise DropItem(f"same text as {first}")
        if self.limit_reached:
            raise DropItem("page limit reached")
        path = write_item(self.items_dir, page)
        self.by_content[page.content_hash] = page.final_url
        self.saved += 1
        log.event(SAVED, page.url, final_url=page.final_url, doc_id=page.doc_id, item=path.name,
                       content_hash=page.content_hash, title=page.title, out_links=len(page.out_links),
                       encoding_repaired=page.encoding_repaired)
        return item


def build_spider_class():
    """The spider class (built on demand so that importing this module never imports Scrapy)."""
    import scrapy
    from scrapy.exceptions import CloseSpider
    from scrapy.linkextractors import LinkExtractor
    from scrapy.linkextractors import IGNORED_EXTENSIONS

    class SiteSpider(scrapy.Spider):
        name = "site"

        def __init__(self, crawl: web_config.CrawlConfig, log: CrawlLog, pdf_dir: str, run_id: str, **kw):
            super().__init__(**kw)
            self.crawl, self.log, self.pdf_dir, self.run_id = crawl, log, Path(pdf_dir), run_id
            self.allowed_domains = list(crawl.allowed_domains)
            # PDFs are worth following (they go to the PDF inbox); other binaries are not
            # (no allow_domains here: the extractor compares host:port, so a site on a port never
            # matches; off-site links are kept in out_links and not followed, see _follows)
            self.links = LinkExtractor(deny_extensions=[e for e in IGNORED_EXTENSIONS if e != "pdf"])

        async def start(self):
            for url in self.crawl.start_urls:
                yield self._request(url)

        def _request(self, url: str):
            meta = {}
            if urlsplit(url).path.lower().endswith(".pdf"):
                meta["download_maxsize"] = web_config.max_pdf_bytes()
            return scrapy.Request(url, callback=self.parse, errback=self.failed, meta=meta)

        def _pipeline(self) -> ItemFilePipeline:
            for component in self.crawler.engine.scraper.itemproc.middlewares:
                if isinstance(component, ItemFilePipeline):
                    return component
            raise RuntimeError("ItemFilePipeline is not enabled")

        def failed(self, failure):
            outcome, reason = describe_failure(failure)
            # report the URL as linked (a redirect chain's first URL), like saved pages
            requested = failure.request.meta.get("redirect_urls", [failure.request.url])[0]
            self.log.event(outcome, requested, reason=reason)

        def parse(self, response):
            if self._pipeline().limit_reached:
                raise CloseSpider("page_limit")
            content_type = response.headers.get(b"Content-Type", b"").decode("latin-1").split(";")[0].strip().lower()
            requested = response.request.meta.get("redirect_urls", [response.url])[0]
            if content_type == "application/pdf" or response.body[:5] == b"%PDF-":
                return self._save_pdf(response, requested)
            if content_type and content_type not in _HTML_TYPES:
                self.log.event(SKIPPED, requested, final_url=response.url, reason=f"not HTML ({content_type})")
                return None
            return self._page(response, requested, content_type)

        def _save_pdf(self, response, requested: str):
            name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(urlsplit(response.url).path).name or "document")[-80:]
            if not name.lower().endswith(".pdf"):
                name += ".pdf"
            target = self.pdf_dir / f"{doc_id_for_url(canonical(response.url))[:12]}-{name}"
            write_bytes_atomic(target, response.body)
            self.log.event(PDF, requested, final_url=response.url, path=str(target), bytes=len(response.body))

        def _page(self, response, requested: str, content_type: str):
            try:
                page, links = self._read_page(response, requested, content_type)
            except Exception as exc:  # noqa: BLE001 - one odd page must not stop the crawl or vanish
                self.log.event(ERROR, requested, final_url=response.url,
                               reason=f"could not read the page: {type(exc).__name__}: {exc}")
                return
            if page is None:
                return
            yield {"page": page}
            for url in links:
                yield self._request(url)

        def _read_page(self, response, requested: str, content_type: str):
            encoding = getattr(response, "encoding", None) or "utf-8"
            html, repaired = decode_html(response.body, encoding, lambda: response.text)
            extracted = extract_main_text(html, response.url)
            if len(extracted.text) < MIN_TEXT_CHARS or readable_share(extracted.text) < MIN_READABLE_SHARE:
                self.log.event(SKIPPED, requested, final_url=response.url, reason="no readable text on the page")
                return None, []
            links = []
            if hasattr(response, "text"):
                links = [canonical(link.url) for link in self.links.extract_links(response)]
            final_url = canonical(response.url)
            page = make_item(url=canonical(requested), final_url=final_url, title=extracted.title,
                             text=extracted.text, out_links=[u for u in links if u != final_url],
                             crawl=self.crawl.name, run_id=self.run_id,
                             depth=int(response.meta.get("depth", 0)), status=response.status,
                             content_type=content_type or "text/html", encoding_repaired=repaired)
            return page, [u for u in dict.fromkeys(links) if self._follows(u)]

        def _follows(self, url: str) -> bool:
            host = (urlsplit(url).hostname or "").lower()
            return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    return SiteSpider


def scrapy_settings(crawl: web_config.CrawlConfig, items_dir: Path, log_file: Path) -> dict:
    return {
        "BOT_NAME": "pipeline_project",
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "DEPTH_LIMIT": crawl.max_depth,
        # breadth-first: pages nearest the start come first (what a page limit should keep), and a
        # page's depth is its shortest link distance (Scrapy's default depth-first order reaches
        # pages through long detours and max_depth then cuts off pages one step from the start)
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "DOWNLOAD_DELAY": crawl.delay_seconds,
        "DOWNLOAD_DELAY_JITTER": 0,
        "CONCURRENT_REQUESTS": crawl.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_requests,
        "DOWNLOAD_MAXSIZE": web_config.max_page_bytes(),
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_TIMEOUT": web_config.download_timeout(),
        "REDIRECT_MAX_TIMES": 10,
        "RETRY_TIMES": 1,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_FILE": str(log_file),
        "LOG_LEVEL": "INFO",
        "DOWNLOADER_MIDDLEWARES": {RedirectLoopMiddleware: 650},
        "ITEM_PIPELINES": {ItemFilePipeline: 300},
        "PIPELINE_ITEMS_DIR": str(items_dir),
        "PIPELINE_PAGE_LIMIT": crawl.page_limit,
    }

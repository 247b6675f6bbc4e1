"""A generated website served on loopback, for the crawl tests, the quickstart and the benchmark.

`GeneratedSite(pages=N)` is a deterministic site of N article pages (/p/<i>.html) reachable from the
home page, with a nav bar, a sidebar and a footer around each article (boilerplate main-text extraction
must drop), plus one of each kind of trouble the web sends:

    /old/about          301 → /about.html           (saved under its final URL)
    /loop/a             302 → /loop/b → /loop/a      (a redirect loop: an error)
    /slow.html          answered after `slow_seconds` (saved)
    /files/report.pdf   a real PDF (goes to the PDF inbox)
    /feed.json          not HTML (skipped)
    /missing/<i>.html   dangling links: 404
    /broken.html        500
    /huge.html          `huge_bytes` of HTML (over the crawler's size cap)
    /mislabelled.html   Windows-1252 bytes served as UTF-8 (saved, with replacement characters)
    /garbage.html       random bytes served as text/html (skipped: no readable text)
    /private/*.html     disallowed by robots.txt
    http://unreachable.invalid/   an off-site link (never followed)

The site knows its own link structure: `expected(...)` returns the pages a crawl from `/` must save
and the links between them, which the tests compare with the crawl's items and the graph.
Every response waits `latency` seconds first (the benchmark uses 200 ms). `change_page(i)` rewrites
the last paragraph of one page, for re-crawl tests. `python -m pipeline_project.samples.sites serve`
runs it in its own process.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Each topic has its own vocabulary, so semantic search can tell pages apart.
TOPICS = {
    "glaciers": "glacier ice sheet meltwater crevasse moraine snowfield alpine valley retreat cold",
    "lighthouses": "lighthouse keeper lamp beacon coast harbour ship fog lens rocky shore",
    "volcanoes": "volcano lava magma eruption crater ash basalt caldera vent pyroclastic",
    "bees": "bee hive honey pollen colony queen worker nectar flower swarm",
    "railways": "railway locomotive train track station signal carriage timetable bridge tunnel",
    "orchards": "orchard apple pear blossom harvest grafting tree fruit pruning cider",
    "tides": "tide moon ocean current estuary ebb flood shoreline wave lunar",
    "bridges": "bridge span truss cable suspension arch girder load pier deck",
    "bread": "bread dough yeast flour oven crust loaf knead sourdough bakery",
    "comets": "comet tail nucleus orbit sun dust ice telescope perihelion coma",
}
_GENERAL = ("the a of and in to with for by from is was were are on at as which this that its their "
            "during after before between under over several many few often rarely").split()
_PDF_PATH = "/files/report.pdf"


@dataclass
class Page:
    path: str
    title: str
    paragraphs: list[str]
    links: list[str] = field(default_factory=list)  # site paths or absolute URLs, as written in the page


def _sentence(rng: random.Random, vocab: list[str], words: int) -> str:
    picks = [rng.choice(vocab) if rng.random() < 0.6 else rng.choice(_GENERAL) for _ in range(words)]
    text = " ".join(picks)
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, vocab: list[str], sentences: int = 6) -> str:
    return " ".join(_sentence(rng, vocab, rng.randint(10, 18)) for _ in range(sentences))


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A crawler hanging up mid-response (its size cap) is expected, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class GeneratedSite:
    """A deterministic site; the same arguments give the same pages, links and bytes."""

    def __init__(self, pages: int = 20, *, seed: int = 0, latency: float = 0.0, slow_seconds: float = 1.0,
                 huge_bytes: int = 3 * 2**20, paragraphs: int = 5, links_per_page: int = 4, dangling_every: int = 7):
        if pages < 4:
            raise ValueError("a generated site needs at least 4 pages")
        self.seed, self.latency, self.slow_seconds, self.huge_bytes = seed, latency, slow_seconds, huge_bytes
        self.n_pages = pages
        self.pages: dict[str, Page] = {}
        self.redirects = {"/old/about": "/about.html", "/loop/a": "/loop/b", "/loop/b": "/loop/a"}
        self.versions: dict[str, int] = {}
        self.lock = threading.Lock()
        rng = random.Random(seed)
        topic_names = list(TOPICS)
        for i in range(pages):
            topic = topic_names[i % len(topic_names)]
            vocab = TOPICS[topic].split()
            title = f"{topic.capitalize()} notes {i}: {' '.join(rng.sample(vocab, 3))}"
            paras = [_paragraph(rng, vocab) for _ in range(paragraphs)]
            # a spanning tree (i → 2i+1, 2i+2) keeps every page reachable from /p/0 in log2(N) steps,
            # and random extra links make the graph worth drawing
            links = [f"/p/{j}.html" for j in (2 * i + 1, 2 * i + 2) if j < pages]
            links += [f"/p/{rng.randrange(pages)}.html" for _ in range(max(0, links_per_page - len(links)))]
            if dangling_every and i % dangling_every == 3:
                links.append(f"/missing/{i}.html")
            self.pages[f"/p/{i}.html"] = Page(f"/p/{i}.html", title, paras, links)
        about_vocab = TOPICS["railways"].split()
        self.pages["/about.html"] = Page("/about.html", "About this site",
                                         [_paragraph(rng, about_vocab) for _ in range(3)], ["/p/0.html"])
        self.pages["/slow.html"] = Page("/slow.html", "A slow page",
                                        [_paragraph(rng, TOPICS["tides"].split()) for _ in range(3)], ["/p/1.html"])
        self.pages["/mislabelled.html"] = Page("/mislabelled.html", "Café menu",
                                               ["Crème brûlée, café au lait and pâté — prices in €. " * 8,
                                                _paragraph(rng, TOPICS["bread"].split())], ["/p/2.html"])
        self.pages["/private/secret.html"] = Page("/private/secret.html", "Private", ["Not for crawlers. " * 20], [])
        self.home_links = ["/p/0.html", "/old/about", "/loop/a", "/slow.html", _PDF_PATH, "/feed.json",
                           "/broken.html", "/huge.html", "/mislabelled.html", "/garbage.html",
                           "/private/secret.html", "http://unreachable.invalid/page.html", "mailto:someone@example.org"]
        self.requests: dict[str, int] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content ---------------------------------------------------------------------------------
    def change_page(self, index: int, text: str | None = None) -> None:
        """Rewrite the last paragraph of /p/<index>.html (the rest of the page stays the same)."""
        page = self.pages[f"/p/{index}.html"]
        with self.lock:
            self.versions[page.path] = self.versions.get(page.path, 0) + 1
            page.paragraphs[-1] = text or (f"Revision {self.versions[page.path]}: " +
                                           _paragraph(random.Random(self.versions[page.path]), TOPICS["comets"].split()))

    def nav_links(self) -> list[str]:
        return ["/"] + [f"/p/{j}.html" for j in range(3)]

    def outlinks(self, path: str) -> list[str]:
        """Every link of a page as written in its HTML (nav bar included)."""
        if path == "/":
            return list(self.home_links)
        return self.nav_links() + self.pages[path].links

    def html(self, page: Page) -> str:
        nav = "".join(f'<li><a href="{link}">Section {n}</a></li>' for n, link in enumerate(self.nav_links()))
        body = "\n".join(f"<p>{p}</p>" for p in page.paragraphs)
        links = "".join(f'<li><a href="{link}">See also {n}</a></li>' for n, link in enumerate(page.links))
        return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{page.title}</title></head><body>"
                f"<header><nav><ul>{nav}</ul></nav></header>"
                f"<main><article><h1>{page.title}</h1>\n{body}\n<h2>Related</h2><ul>{links}</ul></article></main>"
                "<aside><h3>Newsletter</h3><p>Subscribe to our newsletter for weekly updates.</p></aside>"
                "<footer><p>Copyright 2026 Generated Site. All rights reserved. Privacy policy.</p></footer>"
                "</body></html>")

    def home_html(self) -> str:
        links = "".join(f'<li><a href="{link}">{link}</a></li>' for link in self.home_links)
        intro = _paragraph(random.Random(self.seed), TOPICS["orchards"].split())
        return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Generated site home</title></head>"
                f"<body><main><h1>Welcome to the generated site</h1><p>{intro}</p><ul>{links}</ul></main>"
                "<footer><p>Copyright 2026 Generated Site.</p></footer></body></html>")

    def pdf_bytes(self) -> bytes:
        import pymupdf

        doc = pymupdf.open()
        page = doc.new_page()
        page.insert_textbox(pymupdf.Rect(54, 54, 558, 760),
                            "Annual report of the generated site\n\n" + _paragraph(random.Random(1), TOPICS["bees"].split()),
                            fontsize=11)
        return doc.tobytes()

    def huge_html(self) -> bytes:
        filler = "<p>" + "huge page filler text " * 40 + "</p>\n"
        repeat = self.huge_bytes // len(filler) + 1
        return ("<!doctype html><html><head><title>Huge</title></head><body>" + filler * repeat + "</body></html>").encode()

    def robots_txt(self) -> str:
        return "User-agent: *\nDisallow: /private/\n"

    # -- what a crawl must find ------------------------------------------------------------------
    def page_for(self, path: str) -> Page | None:
        return self.pages.get(self.resolve(path))

    def resolve(self, path: str) -> str:
        """Follow the site's redirects (a loop resolves to itself)."""
        seen = set()
        while path in self.redirects and path not in seen:
            seen.add(path)
            path = self.redirects[path]
        return path

    def expected(self, max_depth: int = 99) -> tuple[set[str], set[tuple[str, str]]]:
        """(paths a crawl from / saves within max_depth link steps, links (from, to) between them).

        Saved pages: the home page and every article reachable from it, except robots-disallowed ones.
        Links: distinct pairs of saved pages, redirects resolved, self-links left out."""
        outlinks = {path: self.outlinks(path) for path in ["/", *self.pages]}
        saved, frontier, depth = {"/"}, ["/"], 0
        while frontier and depth < max_depth:
            depth += 1
            nxt = []
            for src in frontier:
                for link in outlinks.get(src, []):
                    if not link.startswith("/"):
                        continue
                    target = self.resolve(link)
                    if target in saved or target not in self.pages or target.startswith("/private/"):
                        continue
                    saved.add(target)
                    nxt.append(target)
            frontier = nxt
        edges = set()
        for src in saved:
            for link in outlinks.get(src, []):
                target = self.resolve(link) if link.startswith("/") else None
                if target in saved and target != src:
                    edges.add((src, target))
        return saved, edges

    # -- serving ---------------------------------------------------------------------------------
    def respond(self, path: str) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(path).path or "/"
        if path == "/":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, self.home_html().encode()
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, self.robots_txt().encode()
        if path in self.redirects:
            return (301 if path == "/old/about" else 302), {"Location": self.redirects[path]}, b""
        if path == _PDF_PATH:
            return 200, {"Content-Type": "application/pdf"}, self.pdf_bytes()
        if path == "/feed.json":
            return 200, {"Content-Type": "application/json"}, b'{"items": []}'
        if path == "/broken.html":
            return 500, {"Content-Type": "text/html"}, b"<html><body>Internal Server Error</body></html>"
        if path == "/huge.html":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, self.huge_html()
        if path == "/garbage.html":
            return 200, {"Content-Type": "text/html"}, random.Random(7).randbytes(4000).replace(b"<", b"?")
        if path == "/slow.html":
            time.sleep(self.slow_seconds)
        page = self.pages.get(path)
        if page is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body><h1>Not found</h1></body></html>"
        with self.lock:
            html = self.html(page)
        if path == "/mislabelled.html":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, html.encode("cp1252")
        return 200, {"Content-Type": "text/html; charset=utf-8"}, html.encode()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the site is not being served; use it as a context manager or call start()")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self, port: int = 0) -> "GeneratedSite":
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                with site.lock:
                    site.requests[self.path] = site.requests.get(self.path, 0) + 1
                if site.latency:
                    time.sleep(site.latency)
                status, headers, body = site.respond(self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the crawler hung up (size cap)
                    pass

        self._httpd = _QuietServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "GeneratedSite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fingerprint(self) -> str:
        """A hash of every article's current text (changes when change_page is called)."""
        digest = hashlib.sha256()
        for path in sorted(self.pages):
            digest.update(path.encode())
            digest.update("".join(self.pages[path].paragraphs).encode())
        return digest.hexdigest()[:12]


def crawl_config_yaml(site: GeneratedSite, name: str = "generated-site", **overrides) -> str:
    """A crawl config for this site, with every key the crawler reads."""
    config = {"name": name, "start_urls": [site.url("/")], "allowed_domains": ["127.0.0.1"],
              "page_limit": 1000, "max_depth": 10, "delay_seconds": 0, "concurrent_requests": 8,
              "obey_robots": True, "user_agent": "pipeline-project-crawler (+https://example.org/bot)"}
    config.update(overrides)
    import yaml

    return yaml.safe_dump(config, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a generated website on 127.0.0.1 until interrupted.")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds before every response")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    site = GeneratedSite(args.pages, seed=args.seed, latency=args.latency).start(args.port)
    print(site.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

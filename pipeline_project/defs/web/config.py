"""A crawl's configuration (one YAML file per crawl) and the web domain's settings.

    name: docs-site                      # the crawl's partition key; letters, digits, . _ -
    start_urls: [https://docs.example.org/]
    allowed_domains: [docs.example.org]  # links elsewhere are not followed
    page_limit: 500                      # pages saved (errors and skips do not count)
    max_depth: 5                         # link steps from a start URL
    delay_seconds: 0.5                   # between requests to the same site
    concurrent_requests: 4
    obey_robots: true
    user_agent: my-crawler (+https://example.org/bot)

Settings from the environment: CLOSESPIDER_PAGECOUNT overrides page_limit; PIPELINE_MODE
(streaming | batch) says whether pages are processed while the crawl runs or after it ends.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from pipeline_project.lib.settings import UserError, env_float, env_int, env_str

KEYS = ("name", "start_urls", "allowed_domains", "page_limit", "max_depth", "delay_seconds",
        "concurrent_requests", "obey_robots", "user_agent")
REQUIRED = ("name", "start_urls")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_USER_AGENT = "pipeline-project-crawler (+https://github.com/pipeline-project)"

STREAMING, BATCH = "streaming", "batch"


class ConfigError(UserError, ValueError):
    """A crawl config a person has to fix; the message says what and where."""


@dataclass(frozen=True)
class CrawlConfig:
    name: str
    start_urls: list[str]
    allowed_domains: list[str] = field(default_factory=list)
    page_limit: int = 1000
    max_depth: int = 5
    delay_seconds: float = 0.0
    concurrent_requests: int = 8
    obey_robots: bool = True
    user_agent: str = DEFAULT_USER_AGENT

    def as_dict(self) -> dict:
        return asdict(self)

    def with_page_limit(self, pages: int | None) -> "CrawlConfig":
        return self if pages is None else replace(self, page_limit=_positive_int("page_limit", pages))


def _positive_int(key: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < minimum:
        raise ConfigError(f"{key} must be a whole number ≥ {minimum}, not {value!r}")
    return int(value)


def _url_list(key: str, value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{key} must be a list of URLs, not {value!r}")
    urls = [v.strip() for v in value]
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{key}: {url!r} is not an http(s) URL")
    return urls


def _domains(value, start_urls: list[str]) -> list[str]:
    """Host names only: Scrapy's off-site filter ignores entries with a port or a scheme."""
    if value in (None, []):
        # the start hosts without "www.": Scrapy also allows their subdomains, so a start URL that
        # redirects from example.org to www.example.org (or back) is not silently dropped as off-site
        return sorted({(urlsplit(u).hostname or "").removeprefix("www.") for u in start_urls})
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"allowed_domains must be a list of host names, not {value!r}")
    hosts = []
    for entry in value:
        entry = entry.strip()
        hosts.append(urlsplit(entry if "//" in entry else f"//{entry}").hostname or entry)
    return hosts


def parse_config(raw: dict, source: str = "crawl config") -> CrawlConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of {', '.join(KEYS)}")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; the keys are {', '.join(KEYS)}")
    missing = [k for k in REQUIRED if raw.get(k) in (None, "", [])]
    if missing:
        raise ConfigError(f"{source}: missing {', '.join(missing)}")
    name = str(raw["name"])
    if not _NAME.match(name):
        raise ConfigError(f"{source}: name {name!r} must be 1-64 letters, digits, '.', '_' or '-' "
                          "(it names the crawl's partition and folders)")
    start_urls = _url_list("start_urls", raw["start_urls"])
    defaults = CrawlConfig(name=name, start_urls=start_urls)
    delay = raw.get("delay_seconds", defaults.delay_seconds)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise ConfigError(f"{source}: delay_seconds must be a number ≥ 0, not {delay!r}")
    robots = raw.get("obey_robots", defaults.obey_robots)
    if not isinstance(robots, bool):
        raise ConfigError(f"{source}: obey_robots must be true or false, not {robots!r}")
    agent = raw.get("user_agent") or defaults.user_agent
    if not isinstance(agent, str):
        raise ConfigError(f"{source}: user_agent must be text, not {agent!r}")
    try:
        return CrawlConfig(
            name=name,
            start_urls=start_urls,
            allowed_domains=_domains(raw.get("allowed_domains"), start_urls),
            page_limit=_positive_int("page_limit", raw.get("page_limit", defaults.page_limit)),
            max_depth=_positive_int("max_depth", raw.get("max_depth", defaults.max_depth), minimum=0),
            delay_seconds=float(delay),
            concurrent_requests=_positive_int("concurrent_requests",
                                              raw.get("concurrent_requests", defaults.concurrent_requests)),
            obey_robots=robots,
            user_agent=agent.strip(),
        )
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(path: str | Path, page_limit: int | None = None) -> CrawlConfig:
    """Read and check a crawl YAML. The page limit is, in order: `page_limit` (e.g. `--pages`),
    $CLOSESPIDER_PAGECOUNT, the file's page_limit."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"crawl config {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"crawl config {path} is not valid YAML: {exc}") from None
    config = parse_config(raw, source=str(path))
    env_limit = env_int("CLOSESPIDER_PAGECOUNT", 0)
    return config.with_page_limit(page_limit or env_limit or None)


def dump_config(config: CrawlConfig) -> str:
    import yaml

    return yaml.safe_dump(config.as_dict(), sort_keys=False, allow_unicode=True)


# -- the domain's settings -------------------------------------------------------------------------
def pipeline_mode() -> str:
    """PIPELINE_MODE: `streaming` (default) processes pages while the crawl runs; `batch` after it ends."""
    mode = env_str("PIPELINE_MODE", STREAMING).strip().lower()
    if mode not in (STREAMING, BATCH):
        raise ConfigError(f"PIPELINE_MODE must be {STREAMING!r} or {BATCH!r}, not {mode!r}")
    return mode


def storage_mode() -> str:
    """STORAGE_MODE: `local` (files under $PIPELINE_DATA_DIR, tables in its DuckDB warehouse) is the
    only mode; anything else is refused rather than silently ignored."""
    mode = env_str("STORAGE_MODE", "local").strip().lower()
    if mode != "local":
        raise ConfigError(f"STORAGE_MODE={mode!r} is not supported: pages are stored under $PIPELINE_DATA_DIR "
                          "(STORAGE_MODE=local); point PIPELINE_DATA_DIR at shared storage to scale out")
    return mode


def max_page_bytes() -> int:
    """PIPELINE_WEB_MAX_PAGE_BYTES (default 5 MiB): larger HTML pages are abandoned as errors."""
    return env_int("PIPELINE_WEB_MAX_PAGE_BYTES", 5 * 2**20)


def max_pdf_bytes() -> int:
    """PIPELINE_WEB_MAX_PDF_BYTES (default 200 MiB) for linked PDFs sent to the PDF inbox."""
    return env_int("PIPELINE_WEB_MAX_PDF_BYTES", 200 * 2**20)


def download_timeout() -> float:
    """PIPELINE_WEB_TIMEOUT_SECONDS (default 30): a page slower than this is an error."""
    return env_float("PIPELINE_WEB_TIMEOUT_SECONDS", 30.0)

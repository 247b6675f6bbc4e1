from __future__ import annotations

import pytest

from pipeline_project.defs.web.config import ConfigError, load_config, parse_config, pipeline_mode, storage_mode

GOOD = """
name: docs
start_urls: [https://docs.example.org/start/]
allowed_domains: [docs.example.org:443]
page_limit: 50
max_depth: 3
delay_seconds: 0.5
concurrent_requests: 4
obey_robots: false
user_agent: tester
"""


def test_every_key_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("CLOSESPIDER_PAGECOUNT", raising=False)
    path = tmp_path / "c.yaml"
    path.write_text(GOOD)
    config = load_config(path)
    assert config.name == "docs" and config.start_urls == ["https://docs.example.org/start/"]
    assert config.allowed_domains == ["docs.example.org"]  # the port would make Scrapy ignore the entry
    assert (config.page_limit, config.max_depth, config.delay_seconds, config.concurrent_requests) == (50, 3, 0.5, 4)
    assert config.obey_robots is False and config.user_agent == "tester"


def test_page_limit_order_pages_then_env_then_file(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text(GOOD)
    monkeypatch.setenv("CLOSESPIDER_PAGECOUNT", "7")
    assert load_config(path).page_limit == 7
    assert load_config(path, page_limit=3).page_limit == 3


def test_allowed_domains_default_to_the_start_hosts():
    config = parse_config({"name": "x", "start_urls": ["http://127.0.0.1:8080/a", "https://www.b.org/"]})
    assert config.allowed_domains == ["127.0.0.1", "b.org"]  # b.org also allows www.b.org


@pytest.mark.parametrize("raw, message", [
    ({"name": "x", "start_urls": ["ftp://a/"]}, "not an http(s) URL"),
    ({"name": "x"}, "missing start_urls"),
    ({"name": "bad name!", "start_urls": ["http://a/"]}, "name 'bad name!'"),
    ({"name": "x", "start_urls": ["http://a/"], "pages": 3}, "unknown key(s) pages"),
    ({"name": "x", "start_urls": ["http://a/"], "page_limit": 0}, "page_limit must be a whole number ≥ 1"),
    ({"name": "x", "start_urls": ["http://a/"], "obey_robots": "yes"}, "obey_robots must be true or false"),
])
def test_bad_configs_say_what_to_fix(raw, message):
    with pytest.raises(ConfigError, match=__import__("re").escape(message)):
        parse_config(raw)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_pipeline_mode(monkeypatch):
    monkeypatch.delenv("PIPELINE_MODE", raising=False)
    assert pipeline_mode() == "streaming"
    monkeypatch.setenv("PIPELINE_MODE", "Batch")
    assert pipeline_mode() == "batch"
    monkeypatch.setenv("PIPELINE_MODE", "fast")
    with pytest.raises(ConfigError, match="PIPELINE_MODE"):
        pipeline_mode()


def test_storage_mode_local_only(monkeypatch):
    monkeypatch.setenv("STORAGE_MODE", "local")
    assert storage_mode() == "local"
    monkeypatch.setenv("STORAGE_MODE", "s3")
    with pytest.raises(ConfigError, match="STORAGE_MODE='s3' is not supported"):
        storage_mode()

"""A real Scrapy crawl (its own process) of a generated site served on loopback."""

from __future__ import annotations

from pipeline_project.defs.web.items import read_item
from pipeline_project_tests.defs.web.conftest import crawl_site


def _paths(site, urls):
    return {u.replace(site.base_url, "") for u in urls}


def test_one_item_file_per_saved_page(site, crawled):
    root, run = crawled
    expected_pages, _ = site.expected()
    items = [read_item(p) for p in (root / "inbox" / "web").glob("item_*.json")]
    assert _paths(site, [i.final_url for i in items]) == expected_pages
    assert len(items) == run.counts["saved"] == len(expected_pages)
    assert not list((root / "inbox" / "web").glob(".*"))  # no temp files left behind


def test_items_carry_url_title_text_links(site, crawled):
    root, _ = crawled
    items = {i.final_url.replace(site.base_url, ""): i for i in map(read_item, (root / "inbox" / "web").glob("item_*.json"))}
    page = items["/p/5.html"]
    assert page.title.startswith("Orchards notes 5")
    assert site.pages["/p/5.html"].paragraphs[0][:60] in page.text
    # main text only: navigation, newsletter box and footer are gone
    assert "Newsletter" not in page.text and "Copyright" not in page.text
    assert len(page.content_hash) == 64 and page.fetched_at
    assert {site.url(link) for link in site.outlinks("/p/5.html") if link != "/p/5.html"} <= set(page.out_links)
    about = items["/about.html"]
    assert about.url == site.url("/old/about") and about.final_url == site.url("/about.html")
    menu = items["/mislabelled.html"]  # Windows-1252 bytes served as UTF-8
    assert "Crème brûlée" in menu.text and menu.encoding_repaired


def test_bad_pages_are_counted_with_reasons_and_the_crawl_goes_on(site, crawled):
    _, run = crawled
    reasons = {e["url"].replace(site.base_url, ""): (e["event"], e["reason"]) for e in run.problems()}
    assert reasons["/missing/3.html"] == ("error", "HTTP 404 Not Found")
    assert reasons["/broken.html"] == ("error", "HTTP 500 Internal Server Error")
    assert reasons["/loop/a"][0] == "error" and reasons["/loop/a"][1].startswith("redirect loop")
    assert reasons["/huge.html"][0] == "error" and "size cap" in reasons["/huge.html"][1]
    assert reasons["/private/secret.html"] == ("skipped", "disallowed by robots.txt")
    assert reasons["/feed.json"] == ("skipped", "not HTML (application/json)")
    assert reasons["/garbage.html"] == ("skipped", "no readable text on the page")
    unreachable = [r for u, r in reasons.items() if u.startswith("http://127.0.0.1:")]
    assert unreachable == [("error", "connection refused (nothing listening at that address)")]
    assert run.counts["error"] == sum(1 for e, _ in reasons.values() if e == "error")
    assert run.status == "finished"


def test_a_linked_pdf_goes_to_the_pdf_inbox(crawled):
    root, run = crawled
    (pdf,) = (root / "inbox" / "web-pdfs" / "site").glob("*.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert run.counts["pdf"] == 1


def test_page_limit_counts_saved_pages_only(site, tmp_path):
    run = crawl_site(site, tmp_path, name="limited", pages=5)
    assert len(list((tmp_path / "inbox" / "web").glob("item_*.json"))) == 5
    assert run.counts["saved"] == 5 and run.state["finish_reason"] in ("page_limit", "finished")


def test_max_depth(site, tmp_path):
    run = crawl_site(site, tmp_path, name="shallow", max_depth=1)
    expected, _ = site.expected(max_depth=1)
    assert _paths(site, [e["final_url"] for e in run.saved()]) == expected

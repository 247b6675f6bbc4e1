from __future__ import annotations

import os
import time

from pipeline_project.defs.web.batching import WebBatchPolicy, claim, plan, waiting_items
from pipeline_project.defs.web.items import make_item, write_item


def _items(inbox, n, age=0.0):
    paths = [write_item(inbox / "web", make_item(url=f"http://s/{i}", final_url=f"http://s/{i}", title=f"t{i}",
                                                 text=f"text {i}", out_links=[])) for i in range(n)]
    stamp = time.time() - age
    for p in paths:
        os.utime(p, (stamp, stamp))
    return paths


def test_streaming_cuts_at_once_when_idle_and_waits_while_busy(tmp_path):
    inbox = tmp_path / "inbox"
    _items(inbox, 3)
    waiting = waiting_items(inbox)
    policy = WebBatchPolicy(min_items=50, max_wait_seconds=5, mode="streaming")
    assert plan(waiting, policy, busy=False, crawling=True) == [waiting]
    assert plan(waiting, policy, busy=True, crawling=True) == []
    assert plan(waiting, policy, busy=True, crawling=False) == [waiting]  # crawl over: flush


def test_streaming_cuts_old_or_many_items_even_while_busy(tmp_path):
    inbox = tmp_path / "inbox"
    _items(inbox, 3, age=10)
    policy = WebBatchPolicy(min_items=50, max_wait_seconds=5, max_items=2, mode="streaming")
    batches = plan(waiting_items(inbox), policy, busy=True, crawling=True)
    assert [len(b) for b in batches] == [2, 1]


def test_streaming_batches_stay_small_while_crawling(tmp_path):
    inbox = tmp_path / "inbox"
    _items(inbox, 5)
    policy = WebBatchPolicy(min_items=2, max_items=4, mode="streaming")
    assert [len(b) for b in plan(waiting_items(inbox), policy, busy=False, crawling=True)] == [2, 2, 1]
    assert [len(b) for b in plan(waiting_items(inbox), policy, busy=False, crawling=False)] == [4, 1]


def test_batch_mode_waits_for_the_crawl_to_end(tmp_path):
    inbox = tmp_path / "inbox"
    _items(inbox, 3, age=60)
    policy = WebBatchPolicy(mode="batch")
    assert plan(waiting_items(inbox), policy, busy=False, crawling=True) == []
    assert len(plan(waiting_items(inbox), policy, busy=False, crawling=False)[0]) == 3


def test_claim_moves_items_into_a_web_batch(tmp_path):
    inbox, batches = tmp_path / "inbox", tmp_path / "batches"
    paths = _items(inbox, 2)
    batch_id = claim(batches, inbox, paths)
    assert "-web-" in batch_id and waiting_items(inbox) == []
    assert sorted(p.name.split("-", 1)[1] for p in (batches / batch_id / "incoming").iterdir()) == sorted(p.name for p in paths)

"""The drawings domain's asset check: no page (and no input file) of the comparison in the dead letters.

Answered inside the comparison's run (assets.py declares it on drawing_summaries), from the item
ledger: a bad input pair (quarantined) or a page that failed 5 times makes it a failed warning."""

import dagster as dg

from pipeline_project.lib.checks import dead_letters_spec

SUMMARIES_KEY = dg.AssetKey("drawing_summaries")


def dead_letters_check() -> dg.AssetCheckSpec:
    return dead_letters_spec(SUMMARIES_KEY, what="pages or input files")

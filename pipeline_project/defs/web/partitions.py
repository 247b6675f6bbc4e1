"""One partition of `web_crawls` per crawl config (its `name`). The pages a crawl saves are
processed in batches of the documents chain (`ocr_batches`, ids `<stamp>-web-<hash>`), never one
partition per page."""

import dagster as dg

web_crawls = dg.DynamicPartitionsDefinition(name="web_crawls")

"""The web domain: a Scrapy crawl saving one item file per page, streamed through the documents
stages, and the graph sink writing documents, chunks and links to a Neo4j-compatible server over Bolt."""

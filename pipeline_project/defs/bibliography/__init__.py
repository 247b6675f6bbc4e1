"""Bibliographies: reference lists extracted from every document, enriched from OpenAlex and
Crossref within their rate limits, open-access PDFs of cited works fed back into the corpus."""

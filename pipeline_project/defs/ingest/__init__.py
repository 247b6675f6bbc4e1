"""Ingest domain: downloads identifier lists into the documents inbox, paced by free disk space."""

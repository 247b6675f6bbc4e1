"""Making text from the outside world storable: UTF-8 files, Arrow strings and DuckDB reject NUL
bytes (in some PDFs' text layers) and lone surrogates (file names with undecodable bytes, broken
ToUnicode maps)."""


def storable(text: str) -> str:
    """Drop NULs; undecodable file-name bytes become U+FFFD, other lone surrogates '?'."""
    text = text.replace("\x00", "")
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")

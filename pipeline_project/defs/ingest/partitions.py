"""Download slices as dynamic partitions: `slice-00000` = items 0..N-1 of the identifier list.

Dynamic rather than static because the list's length is only known by reading it, which must not
happen at import (definitions are re-imported on every tick). The sensor adds keys as the list grows.
"""

from __future__ import annotations

import dagster as dg

DOWNLOAD_SLICES = "download_slices"
download_slices = dg.DynamicPartitionsDefinition(name=DOWNLOAD_SLICES)

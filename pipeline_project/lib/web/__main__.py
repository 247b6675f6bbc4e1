"""`python -m pipeline_project.lib.web --host 127.0.0.1 --port 8765`: the web server alone."""

import sys

from pipeline_project.lib.web.server import main

sys.exit(main())

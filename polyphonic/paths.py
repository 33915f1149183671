"""Where rnnrbm looks for its data and writes its runs by default.

The project folder: the one holding rnnrbm.py, which is also where an
editable install (pip install -e .) runs from. Defaults are looked up there
whatever the current folder; paths a user gives are taken as given. The
environment variable RNNRBM_DATA, if set, names another folder for the data
(what download.sh --dest fetched into). Install editable (pip install -e .,
as setup.sh does): a plain install would put ROOT in site-packages.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.abspath(os.environ.get("RNNRBM_DATA") or os.path.join(ROOT, "data"))  # what download.sh fetches
RUNS = os.path.join(ROOT, "runs")  # default outputs (git ignores it)
RESULTS = os.path.join(ROOT, "results")
REFERENCE = os.path.join(ROOT, "reference")

"""Settings for the whole test run (package tests and notebook tests alike).

Set before any kernel starts, so that nbval's lesson kernels inherit them:
smoke mode (seconds per lesson), and the data root at the real MedMNIST files
in the shared folder beside this checkout when present (CI sets RADLAB_DATA
itself).
"""

import os
from pathlib import Path

os.environ.setdefault("RADLAB_MODE", "smoke")
os.environ.setdefault("MPLBACKEND", "Agg")
_shared = Path(__file__).resolve().parent.parent / "shared" / "data"
if "RADLAB_DATA" not in os.environ and _shared.is_dir():
    os.environ["RADLAB_DATA"] = str(_shared)

# Notebooks used as test fixtures are opened by the tests, not run by nbval.
collect_ignore_glob = ["tests/fixtures/*", "course-output/*", ".venv/*"]

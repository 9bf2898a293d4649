"""What the browser tests share: Debian's Chromium through Playwright, and JupyterLab's page.

Used by tests/test_widgets_browser.py (JupyterLab), tests/test_jupyterhub.py
(JupyterHub) and tests/test_site.py (the built website). Never
``playwright install``: the browser is Debian's, installed by
``.ci/install-browser.sh``.
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # require_browser() says what to install
    expect = None

CHROMIUM = Path("/usr/bin/chromium")
# No background connections: this machine's network is closed, and a test must not wait on it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
_PROMPTS = ".jp-CodeCell .jp-InputArea-prompt"


def require_browser() -> None:
    """Skip the test, saying what to install, when Playwright or Debian's Chromium is missing."""
    if expect is None:
        pytest.skip("the Python package playwright is missing: pip install -e '.[dev]'")
    if not CHROMIUM.exists():
        pytest.skip(
            "Chromium is missing at /usr/bin/chromium: run `sudo bash .ci/install-browser.sh`"
        )


def launch(playwright, env: dict | None = None):
    """Debian's headless Chromium (``env``: e.g. a temporary HOME for its profile)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, env=env
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ a notebook in JupyterLab


def wait_for_kernel(page, timeout_s: float) -> None:
    """Wait until the notebook's kernel exists and is idle.

    The toolbar says idle before a kernel exists (Run All clicked then does
    nothing); the status bar names the kernel only once it is there.
    """
    expect(page.locator("#jp-main-statusbar")).to_contain_text(
        re.compile(r"\(ipykernel\) \| Idle"), timeout=timeout_s * 1000
    )


def run_all(page) -> None:
    """Run > Run All Cells, from the menu bar."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def cell_counts(page) -> tuple[int, int, int]:
    """(code cells queued or running, cells done, cells never run), read from their prompts."""
    texts = page.locator(_PROMPTS).all_inner_texts()
    return (
        sum("[*]" in t for t in texts),
        sum(bool(re.search(r"\[\d+\]", t)) for t in texts),
        sum("[ ]" in t for t in texts),
    )


def finished(page) -> bool:
    """Whether the notebook has run: no cell queued or running, and at least one done."""
    running, done, _ = cell_counts(page)
    return running == 0 and done > 0


def wait_until_finished(page, timeout_s: float, what: str) -> float:
    """Wait until :func:`finished`; the seconds it took (fails after ``timeout_s``)."""
    start = time.monotonic()
    while not finished(page):
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"{what} did not finish running within {timeout_s:.0f} s.")
        time.sleep(0.2)
    return time.monotonic() - start


def check_ran_cleanly(page, what: str) -> None:
    """Fail on a traceback in the page or a code cell that Run All left unrun."""
    # JupyterLab draws a raised exception as stderr text holding the traceback.
    errors = page.locator('[data-mime-type="application/vnd.jupyter.stderr"]', has_text="Traceback")
    if errors.count():
        pytest.fail(f"{what} raised an error when run:\n{errors.first.inner_text()[-3000:]}")
    _, done, not_run = cell_counts(page)
    if done == 0 or not_run:
        pytest.fail(f"{what}: {not_run} code cells did not run after Run All ({done} did).")

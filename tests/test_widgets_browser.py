"""The widgets in a real JupyterLab, driven by headless Chromium through Playwright.

One JupyterLab server for the whole module (127.0.0.1, a free port, a token,
a temporary root folder holding copies of the notebooks). Each test opens one
notebook with ``?reset``, waits for the kernel, runs all cells, then moves the
widgets' controls (arrow keys on a slider handle, a preset menu, a button)
and checks that the picture (the PNG bytes behind the <img>) and the printed
read-out change.

Needs Debian's Chromium at /usr/bin/chromium (``.ci/install-browser.sh``) and
the ``playwright`` package (dev extra). Never ``playwright install``.
Run alone with: python3 -m pytest tests/test_widgets_browser.py -s
(-s prints the timings and the browser version; RADLAB_SCREENSHOTS=folder keeps
a screenshot of each widget after its checks.)
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import chromium
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = "tests/fixtures/widgets_demo.ipynb"
# notebook (relative to the project root) -> the widgets it must show
NOTEBOOKS = {
    FIXTURE: ("window", "augment", "conv"),
    "notebooks/01_input_data.ipynb": ("window",),
    "notebooks/02_augmentation.ipynb": ("augment",),
    "notebooks/03_building_blocks.ipynb": ("conv",),
    "notebooks/08_images_as_teaching_data.ipynb": ("threshold",),
}
SERVER_START_S = 60
RUN_S = {FIXTURE: 45}  # seconds for "Run All" to finish; lessons get LESSON_RUN_S
LESSON_RUN_S = 90
STEP_MS = 15_000  # one widget reacting to one action

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the skip below says what to install
    sync_playwright = None


def _log(message: str) -> None:
    print(f"[browser-test] {message}", flush=True)


def _server_env(tmp: Path) -> dict:
    """Environment of the server and kernel: temporary home, quiet JupyterLab, course settings."""
    import matplotlib

    env = dict(os.environ)
    home = tmp / "home"
    for sub in ("config", "cache", "data", "runtime"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    settings = tmp / "lab-settings"
    notification = (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell (no virtual scrolling), so widgets far down a lesson are in the page.
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"),
        RADLAB_MODE="smoke",  # RADLAB_DATA passes through unchanged
        # the kernel imports radlab from this checkout even when it is not pip-installed
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        # reuse matplotlib's font cache instead of rebuilding it in the temporary home
        MPLCONFIGDIR=os.environ.get("MPLCONFIGDIR") or matplotlib.get_configdir(),
    )
    return env


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"JupyterLab exited at once (code {proc.returncode}); its log:\n"
                f"{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(
        f"JupyterLab did not answer within {SERVER_START_S} s; its log:\n{log.read_text()[-3000:]}"
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab server for this module; yields (base URL, token, log path); stopped by PID."""
    chromium.require_browser()
    if importlib.util.find_spec("jupyterlab") is None:
        pytest.skip("JupyterLab is not installed: pip install -e .")
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    if (
        ROOT / "notebooks"
    ).is_dir():  # the lessons and what sits beside them (figures), not checkpoints
        shutil.copytree(
            ROOT / "notebooks",
            root / "notebooks",
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pt", "*.pth"),
        )
    (root / "tests" / "fixtures").mkdir(parents=True)
    shutil.copy(ROOT / FIXTURE, root / FIXTURE)
    port, token = chromium.free_port(), uuid.uuid4().hex
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # without it the server refuses to start as root
    log = tmp / "jupyterlab.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, cwd=root, env=_server_env(tmp), stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={token}", proc, log)
        _log(f"JupyterLab up in {time.monotonic() - started:.1f} s on port {port}")
        yield base, token, log
    finally:
        proc.send_signal(signal.SIGTERM)  # lets the server shut its kernels down
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def browser(lab):
    """Debian's headless Chromium, launched by Playwright (no downloaded browser)."""
    with sync_playwright() as p:
        browser = chromium.launch(p)
        _log(f"Chromium {browser.version}")
        try:
            yield browser
        finally:
            browser.close()


# ---------------------------------------------------------------- helpers --

PNG_DIGEST_JS = """async (img) => {
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""


def _picture(widget) -> str:
    """SHA-256 of the PNG bytes behind the widget's last picture (the one that reacts)."""
    image = widget.locator("img.widget-image, img.radlab-wl-picture").last
    expect(image).to_have_attribute("src", re.compile(r"\S"), timeout=STEP_MS)
    return image.evaluate(PNG_DIGEST_JS)


def _readout(widget) -> str:
    return widget.locator(".radlab-readout").inner_text()


def _press(widget, slider_index: int, key: str, times: int) -> str:
    """Focus one slider's handle and press a key several times; return the slider's own read-out."""
    slider = widget.locator(".widget-slider").nth(slider_index)
    handle = slider.locator(".noUi-handle")
    before = slider.locator(".widget-readout").inner_text()
    handle.focus()
    for _ in range(times):
        handle.press(key)
    return _changed(
        lambda: slider.locator(".widget-readout").inner_text(), before, "slider's own read-out"
    )


def _until(check, what: str):
    """Wait until check() gives something true; return it."""
    deadline = time.monotonic() + STEP_MS / 1000
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"Waited {STEP_MS / 1000:.0f} s for {what}.")


def _changed(get, old, what: str):
    """Wait until get() differs from old; return the new value."""
    return _until(
        lambda: (lambda new: new if new != old else None)(get()),
        f"the {what} to change from {old!r}",
    )


def _number_after(text: str, label: str) -> float:
    match = re.search(rf"{label}\s*(-?\d+(?:\.\d+)?)", text)
    assert match, f"no '{label} <number>' in the read-out {text!r}"
    return float(match.group(1))


def _start(page, base: str, token: str, notebook: str) -> None:
    """Open a notebook on a fresh layout, wait for its kernel, and click Run All Cells."""
    page.goto(f"{base}/lab/tree/{notebook}?reset&token={token}")
    chromium.wait_for_kernel(page, SERVER_START_S)
    chromium.run_all(page)


def _wait_until_run(page, notebook: str, run_s: float) -> None:
    """Wait until no cell is queued or running, then fail on a traceback or a cell left unrun."""
    chromium.wait_until_finished(page, run_s, notebook)
    chromium.check_ran_cleanly(page, notebook)


@pytest.fixture(scope="module")
def page(browser):
    """One browser tab for all notebooks: after the first, JupyterLab loads from the cache."""
    context = browser.new_context(viewport={"width": 1280, "height": 1600})
    try:
        yield context.new_page()
    finally:
        context.close()


# ----------------------------------------------------------- widget checks --


def _window(text: str) -> tuple[float, float]:
    """(level, width) from a text holding "W <width>" and "L <level>"."""
    return _number_after(text, "L"), _number_after(text, "W")


def _drag(page, start: tuple[float, float], offset: tuple[float, float], fine=False) -> None:
    """Press the left button at ``start`` (page pixels), move by ``offset`` in steps, release."""
    x, y = start
    if fine:
        page.keyboard.down("Shift")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + offset[0], y + offset[1], steps=8)
    page.mouse.up()
    if fine:
        page.keyboard.up("Shift")


def _check_window_viewer(page) -> None:
    from radlab.widgets import FINE_HU_PER_PIXEL, HU_PER_PIXEL

    viewer = page.locator(".radlab-window-viewer").first
    viewer.wait_for(state="attached", timeout=STEP_MS)
    frame = viewer.locator(".radlab-wl-frame")
    frame.scroll_into_view_if_needed()
    overlay = viewer.locator(".radlab-wl-overlay")
    level_box = viewer.locator(".radlab-level-box input")

    def shows(level: float, width: float, what: str) -> None:
        """Wait until the read-out, the picture's corner and the boxes all give this window."""
        _until(
            lambda: (
                _window(_readout(viewer)) == (level, width)
                and _window(overlay.inner_text()) == (level, width)
                and float(level_box.input_value()) == level
            ),
            f"the viewer to show L {level:g} / W {width:g} {what} (read-out "
            f"{_readout(viewer)!r}, corner {overlay.inner_text()!r})",
        )

    picture = _picture(viewer)
    level, width = _window(_readout(viewer))
    shows(level, width, "at the start")
    box = frame.bounding_box()
    assert box["width"] >= 500, f"the picture is {box['width']:.0f} px wide on screen, not ~512"

    # the level slider takes arrow keys, one HU a press
    handle = viewer.locator(".widget-slider").nth(0).locator(".noUi-handle")
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    level += 5
    shows(level, width, "after 5 x ArrowRight on the level slider")
    picture = _changed(lambda: _picture(viewer), picture, "picture after the level slider")

    # drag on the picture: 30 px right widens, 20 px up lowers the level
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    _drag(page, centre, (30, -20))
    level, width = level - 20 * HU_PER_PIXEL, width + 30 * HU_PER_PIXEL
    shows(level, width, "after a drag of 30 px right and 20 px up")
    picture = _changed(lambda: _picture(viewer), picture, "picture after a drag on it")

    # Shift: the fine rate; the drag ends outside the picture and still counts
    near_left = (box["x"] + 20, box["y"] + box["height"] / 2)
    _drag(page, near_left, (-60, 8), fine=True)
    level, width = level + 8 * FINE_HU_PER_PIXEL, width - 60 * FINE_HU_PER_PIXEL
    shows(level, width, "after a Shift-drag of 60 px left (ending off the picture), 8 px down")
    picture = _changed(lambda: _picture(viewer), picture, "picture after a Shift-drag")

    # type an exact level; then the arrow keys in the width box, one HU a press
    level_box.fill("60")
    level_box.press("Enter")
    shows(60, width, "after typing 60 in the level box")
    picture = _changed(lambda: _picture(viewer), picture, "picture after typing a level")
    width_box = viewer.locator(".radlab-width-box input")
    for _ in range(3):
        width_box.press("ArrowUp")
    shows(60, width + 3, "after 3 x ArrowUp in the width box")
    picture = _changed(lambda: _picture(viewer), picture, "picture after the width box's arrows")

    text = _readout(viewer)
    viewer.locator("select").select_option(
        index=viewer.locator("select option").count() - 1
    )  # another preset
    _changed(lambda: _readout(viewer), text, "window read-out after choosing a preset")
    _changed(lambda: _picture(viewer), picture, "windowed picture after choosing a preset")


def _check_augment_explorer(page) -> None:
    explorer = page.locator(".radlab-augment-explorer").first
    explorer.wait_for(state="attached", timeout=STEP_MS)
    explorer.scroll_into_view_if_needed()
    picture, text = _picture(explorer), _readout(explorer)
    angle = _number_after(text, "rotation")
    slider_value = float(_press(explorer, 0, "ArrowRight", 5))  # rotation, one degree per key
    assert slider_value == angle + 5, (
        f"rotation slider went from {angle} to {slider_value} on 5 x ArrowRight"
    )
    _until(
        lambda: _number_after(_readout(explorer), "rotation") == slider_value,
        f"the read-out to print rotation {slider_value:g} (it says {_readout(explorer)!r})",
    )
    picture = _changed(
        lambda: _picture(explorer), picture, "augmented picture after moving the rotation slider"
    )
    text = _readout(explorer)
    explorer.get_by_role("button", name=re.compile("New random draw")).click()
    _changed(lambda: _readout(explorer), text, "augmentation read-out after a random draw")
    _changed(lambda: _picture(explorer), picture, "augmented picture after a random draw")


def _check_conv_playground(page) -> None:
    playground = page.locator(".radlab-conv-playground").first
    playground.wait_for(state="attached", timeout=STEP_MS)
    playground.scroll_into_view_if_needed()
    picture, text = _picture(playground), _readout(playground)
    stride = _press(playground, 0, "ArrowRight", 1)  # stride 1 -> 2
    _until(
        lambda: f")//{stride} + 1" in _readout(playground),
        f"the read-out to use stride {stride} (it says {_readout(playground)!r})",
    )
    assert _readout(playground) != text
    _changed(
        lambda: _picture(playground), picture, "convolution output after moving the stride slider"
    )


def _check_threshold_explorer(page) -> None:
    explorer = page.locator(".radlab-threshold-explorer").first
    explorer.wait_for(state="attached", timeout=STEP_MS)
    explorer.scroll_into_view_if_needed()
    picture, text = _picture(explorer), _readout(explorer)
    assert _number_after(text, "threshold") == 0.5, f"the explorer starts at 0.5: {text!r}"
    # 0.05 per key: 0.50 -> 0.05 -> 0.95; the lesson shows the image with the most pixels of
    # lesion probability between 0.05 and 0.95, so the two ends draw different outlines
    low = float(_press(explorer, 0, "ArrowLeft", 9))
    assert abs(low - 0.05) < 1e-9, f"9 x ArrowLeft gave threshold {low}"
    _until(
        lambda: "threshold 0.05: Dice" in _readout(explorer),
        f"the read-out to give the Dice at 0.05 (it says {_readout(explorer)!r})",
    )
    at_low = _picture(explorer)
    high = float(_press(explorer, 0, "ArrowRight", 18))
    assert abs(high - 0.95) < 1e-9, f"18 x ArrowRight gave threshold {high}"
    _until(
        lambda: "threshold 0.95: Dice" in _readout(explorer),
        f"the read-out to give the Dice at 0.95 (it says {_readout(explorer)!r})",
    )
    assert _readout(explorer) != text
    _changed(lambda: _picture(explorer), at_low, "outlines between thresholds 0.05 and 0.95")
    assert picture  # the starting picture was there


WIDGET_CLASSES = {
    "window": "window-viewer",
    "augment": "augment-explorer",
    "conv": "conv-playground",
    "threshold": "threshold-explorer",
}
CHECKS = {
    "window": _check_window_viewer,
    "augment": _check_augment_explorer,
    "conv": _check_conv_playground,
    "threshold": _check_threshold_explorer,
}


@pytest.mark.parametrize("notebook", list(NOTEBOOKS))
def test_widgets_react_in_jupyterlab(lab, page, notebook):
    """The notebook runs without error in JupyterLab, and each widget reacts to its controls."""
    if not (ROOT / notebook).is_file():
        pytest.skip(
            f"{notebook} is not written yet; the fixture notebook covers the widgets meanwhile"
        )
    base, token, log = lab
    t0 = time.monotonic()
    passed = False
    try:
        _start(page, base, token, notebook)
        _log(
            f"{notebook}: page loaded, kernel idle, Run All clicked: {time.monotonic() - t0:.1f} s"
        )
        _wait_until_run(page, notebook, RUN_S.get(notebook, LESSON_RUN_S))
        _log(f"{notebook}: finished running: {time.monotonic() - t0:.1f} s")
        for kind in NOTEBOOKS[notebook]:
            CHECKS[kind](page)
        _log(f"{notebook}: widgets checked: {time.monotonic() - t0:.1f} s")
        passed = True
        if os.environ.get(
            "RADLAB_SCREENSHOTS"
        ):  # a folder: keep a picture of each widget to look at
            shots = Path(os.environ["RADLAB_SCREENSHOTS"])
            shots.mkdir(parents=True, exist_ok=True)
            for kind in NOTEBOOKS[notebook]:
                widget = page.locator(f".radlab-{WIDGET_CLASSES[kind]}").first
                widget.scroll_into_view_if_needed()
                widget.screenshot(path=str(shots / f"{Path(notebook).stem}-{kind}.png"))
    finally:
        if not passed:  # leave evidence next to the server log
            shot = log.parent / f"failed-{Path(notebook).stem}.png"
            page.screenshot(path=str(shot), full_page=True)
            _log(f"screenshot of the failure: {shot}; server log: {log}")


def test_saved_notebook_shows_the_window_viewer(lab, page):
    """A notebook run elsewhere and saved with its widget state, opened without running it:
    trusted (run by this user), it shows the viewer with its last picture and window (the
    viewer's front end travels in the saved state); untrusted (e.g. downloaded), JupyterLab
    renders no widget and shows the static picture the viewer put in its display data."""
    import nbclient
    import nbformat
    from nbformat.sign import NotebookNotary

    base, token, log = lab
    root = log.parent / "root"
    notebook = nbformat.read(ROOT / FIXTURE, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(root)}}
    )
    client.execute()  # keeps the widget state in the notebook's metadata, as JupyterLab can
    assert "application/vnd.jupyter.widget-state+json" in notebook.metadata.get("widgets", {})
    (root / "saved").mkdir(exist_ok=True)
    # Trust it the way `jupyter trust` does, in the server's own data folder (see _server_env).
    NotebookNotary(data_dir=str(log.parent / "home" / "data" / "jupyter")).sign(notebook)
    nbformat.write(notebook, root / "saved" / "trusted.ipynb")
    # Trust goes by content: a copy with one more cell is a notebook nobody trusted.
    stranger = copy.deepcopy(notebook)
    stranger.cells.append(nbformat.v4.new_markdown_cell("A copy from somewhere else."))
    nbformat.write(stranger, root / "saved" / "untrusted.ipynb")
    passed = False
    try:
        page.goto(f"{base}/lab/tree/saved/untrusted.ipynb?reset&token={token}")
        fallback = page.locator(".jp-OutputArea-output img[src^='data:image/png']")
        expect(fallback.nth(2)).to_be_visible(timeout=SERVER_START_S * 1000)  # the 3 widgets
        assert page.locator(".radlab-window-viewer").count() == 0

        page.goto(f"{base}/lab/tree/saved/trusted.ipynb?reset&token={token}")
        viewer = page.locator(".radlab-window-viewer").first
        viewer.wait_for(state="attached", timeout=SERVER_START_S * 1000)
        expect(viewer.locator(".radlab-wl-overlay")).to_have_text(
            re.compile(r"W 80\s+L 40"), timeout=STEP_MS
        )
        _picture(viewer)  # the saved PNG is there and loads
        assert _window(_readout(viewer)) == (40, 80)
        passed = True
    finally:
        if not passed:
            shot = log.parent / "failed-saved-notebook.png"
            page.screenshot(path=str(shot), full_page=True)
            _log(f"screenshot of the failure: {shot}; server log: {log}")


# ------------------------------------------------------------- reader study --

READER_CELLS = [
    "import numpy as np\nimport radlab as rl",
    (
        "# 12 made-up cases: 28 px noise films, half with the finding, a fair network's scores\n"
        "rng = np.random.default_rng(0)\n"
        "labels = np.array([0, 1] * 6)\n"
        "scores = np.clip(0.4 * labels + 0.6 * rng.random(12), 0, 1)\n"
        "images = rng.random((12, 28, 28))\n"
        "rl.widgets.reader_study(images, labels, scores, n=6, seed=0)"
    ),
]


def test_reader_study_in_jupyterlab(lab, page):
    """Answer 6 cases with the buttons; the result gives a sensitivity and a specificity on the
    network's ROC; "Start again" goes back to case 1."""
    import nbformat

    base, token, log = lab
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in READER_CELLS]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)"}
    nbformat.write(notebook, log.parent / "root" / "reader_study.ipynb")
    t0 = time.monotonic()
    passed = False
    try:
        _start(page, base, token, "reader_study.ipynb")
        _wait_until_run(page, "reader_study.ipynb", RUN_S.get(FIXTURE, 45))
        study = page.locator(".radlab-reader-study").first
        study.wait_for(state="attached", timeout=STEP_MS)
        study.scroll_into_view_if_needed()
        progress = study.locator(".radlab-progress")
        expect(progress).to_have_text("case 1 of 6", timeout=STEP_MS)
        first = _picture(study)
        box = study.locator("img.widget-image").bounding_box()
        assert box["width"] >= 250, f"the case is {box['width']:.0f} px wide on screen, not 256"
        for case in range(6):  # alternate the two answers
            name = "pneumonia" if case % 2 else "normal"
            study.get_by_role("button", name=name, exact=True).click()
            after = f"case {case + 2} of 6" if case < 5 else "all 6 cases read"
            expect(progress).to_have_text(after, timeout=STEP_MS)
        text = _until(
            lambda: (lambda t: t if "specificity" in t else None)(_readout(study)),
            "the result to appear in the read-out",
        )
        sens, spec = _number_after(text, "sensitivity"), _number_after(text, "specificity")
        assert 0 <= sens <= 1 and 0 <= spec <= 1, text
        assert "AUC" in text, f"the network's AUC is missing from {text!r}"
        _changed(lambda: _picture(study), first, "picture (the case) to become the ROC figure")
        expect(study.get_by_role("button", name="normal", exact=True)).to_be_hidden()
        _log(f"reader study: 6 cases answered, result shown: {time.monotonic() - t0:.1f} s")
        if os.environ.get("RADLAB_SCREENSHOTS"):  # a folder: keep a picture of the result
            shots = Path(os.environ["RADLAB_SCREENSHOTS"])
            shots.mkdir(parents=True, exist_ok=True)
            study.screenshot(path=str(shots / "reader_study-result.png"))

        study.get_by_role("button", name="Start again").click()
        expect(progress).to_have_text("case 1 of 6", timeout=STEP_MS)
        _until(lambda: _readout(study).strip() == "", "the read-out to be cleared")
        _until(lambda: _picture(study) == first, "the first case to be shown again")
        expect(study.get_by_role("button", name="pneumonia", exact=True)).to_be_visible()
        _log(f"reader study: started again: {time.monotonic() - t0:.1f} s")
        passed = True
    finally:
        if not passed:
            shot = log.parent / "failed-reader-study.png"
            page.screenshot(path=str(shot), full_page=True)
            _log(f"screenshot of the failure: {shot}; server log: {log}")

"""The workshop room: a real JupyterHub, two learners logged in through Chromium.

Starts JupyterHub on 127.0.0.1 (free ports) with the room's own settings
(workshop/jupyterhub_config.py), changed only where a test machine must differ:
a shared test password instead of Linux logins, and servers that run as the
test's own user, each learner's home a separate temporary folder
(``SimpleLocalProcessSpawner``). The hub's proxy is configurable-http-proxy
(``bash .ci/install-hub.sh``). Two learners log in on the hub's login page, each
in their own browser context, open lesson 01 (the student copy the hub put in
their home) in JupyterLab and run all cells in smoke mode; then one learner
saves a file and the other must not see it. The hub, the proxy and the
learners' servers are stopped at the end, also when the test fails.

The Kubernetes values file (workshop/values.yaml) cannot be rendered here (the
Zero to JupyterHub chart, which `helm template` needs, is on no registry this
machine reaches):
the tests at the end load it and check it against the keys the chart documents,
and run its copy-the-course command for real.

Run alone with: python -m pytest tests/test_jupyterhub.py -s
"""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parents[1]
WORKSHOP_CONFIG = ROOT / "workshop" / "jupyterhub_config.py"
VALUES = ROOT / "workshop" / "values.yaml"
LESSON = "01_input_data.ipynb"
LEARNERS = ("learner-a", "learner-b")
PASSWORD = "radlab-test-" + uuid.uuid4().hex[:8]  # the shared test password (8+ characters)
HUB_START_S = 60
SPAWN_S = 90  # login to a JupyterLab whose kernel is idle
RUN_S = 120  # both learners running lesson 01 at once on 2 cores
STEP_MS = 15_000

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the skip below says what to install
    sync_playwright = None


def _log(message: str) -> None:
    print(f"[hub-test] {message}", flush=True)


def _proxy_program() -> str | None:
    """configurable-http-proxy: on PATH, else where .ci/install-hub.sh puts it."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    tools = os.environ.get("RADLAB_HUB_TOOLS") or str(Path.home() / ".cache/radlab/hub-tools")
    program = Path(tools) / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(program) if program.exists() else None


def _lab_settings(home: Path) -> None:
    """A learner's JupyterLab settings: no news question, every cell drawn (no virtual list)."""
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    for extension, name, value in (
        ("apputils-extension", "notification", {"fetchNews": "false", "checkForUpdates": False}),
        ("notebook-extension", "tracker", {"windowingMode": "none"}),
    ):
        path = settings / extension / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


TEST_CONFIG = """\
# The workshop's settings, then what a test machine changes (written by tests/test_jupyterhub.py).
c = get_config()  # noqa: F821
load_subconfig({workshop!r})  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = "sqlite:///{tmp}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{tmp}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{tmp}/jupyterhub.pid"
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allowed_users = {learners!r}
c.Authenticator.admin_users = set()
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{tmp}/homes/{{username}}"
c.Spawner.args = c.Spawner.args + {root_args!r}
c.Spawner.environment = {{**c.Spawner.environment, **{extra_env!r}}}
c.JupyterHub.services = []
c.JupyterHub.load_roles = []
"""


def _hub_env(tmp: Path, marker: str) -> dict:
    """Environment of the hub (and so of the proxy and, through the config, the learners)."""
    env = dict(os.environ)
    home = tmp / "hub-home"
    home.mkdir()
    env.update(
        HOME=str(home),
        RADLAB_COURSE=str(tmp / "course"),
        RADLAB_MODE="smoke",  # RADLAB_DATA passes through unchanged
        RADLAB_THREADS="1",
        RADLAB_HUB_TEST=marker,  # marks every process of this test, to stop stragglers by PID
        # the learners' kernels import radlab from this checkout even when it is not installed
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        PATH=os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", ""))),
    )
    env.pop("JUPYTERHUB_API_TOKEN", None)
    return env


def _marked_pids(marker: str) -> list[int]:
    """Processes still running with this test's marker in their environment (Linux)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone already, or not ours to read
            continue
        if f"RADLAB_HUB_TEST={marker}".encode() in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _stop(proc: subprocess.Popen, marker: str) -> None:
    """Stop the hub (it stops the learners' servers and the proxy), then any straggler by PID."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = _marked_pids(marker)
        if not left:
            return
        _log(f"stopping {len(left)} process(es) the hub left: {left}")
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(2)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A running JupyterHub; yields (public URL, temporary folder, hub log, process marker)."""
    chromium.require_browser()
    if importlib.util.find_spec("jupyterhub") is None:
        pytest.skip("JupyterHub is not installed: pip install -e '.[dev]'")
    proxy = _proxy_program()
    if proxy is None:
        pytest.skip("configurable-http-proxy is missing: run `bash .ci/install-hub.sh` (npm)")
    import nbformat

    from radlab.course import student_copy

    tmp = tmp_path_factory.mktemp("hub")
    # The teacher's preparation: student copies in the shared course folder (lesson 00, where
    # the hub's start page points, and lesson 01, which the learners run).
    (tmp / "course").mkdir()
    for notebook in ("00_start_here.ipynb", LESSON):
        lesson = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
        nbformat.write(student_copy(lesson, Path(notebook).stem), tmp / "course" / notebook)
    for name in LEARNERS:  # homes with settings only: the hub copies the course in
        _lab_settings(tmp / "homes" / name)
    marker = uuid.uuid4().hex
    port, hub_port, api_port = chromium.free_port(), chromium.free_port(), chromium.free_port()
    root_args = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    config = tmp / "jupyterhub_test_config.py"
    config.write_text(
        TEST_CONFIG.format(
            workshop=str(WORKSHOP_CONFIG),
            port=port,
            hub_port=hub_port,
            api_port=api_port,
            proxy=proxy,
            tmp=tmp,
            password=PASSWORD,
            learners=set(LEARNERS),
            root_args=root_args,
            extra_env={"RADLAB_HUB_TEST": marker, "MPLCONFIGDIR": _font_cache()},
        )
    )
    log = tmp / "jupyterhub.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=tmp,
            env=_hub_env(tmp, marker),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_hub(f"{base}/hub/api", proc, log)
        _log(f"JupyterHub up in {time.monotonic() - started:.1f} s (public port {port})")
        yield base, tmp, log, marker
    finally:
        _stop(proc, marker)
        left = _marked_pids(marker)
        assert not left, f"processes of the test still running after the hub stopped: {left}"


def _font_cache() -> str:
    """matplotlib's settings folder, whose font cache the learners' kernels reuse (no rebuild)."""
    import matplotlib

    return os.environ.get("MPLCONFIGDIR") or matplotlib.get_configdir()


def _wait_for_hub(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + HUB_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"JupyterHub exited at once (code {proc.returncode}); its log:\n"
                f"{log.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"JupyterHub did not answer within {HUB_START_S} s; its log:\n{log.read_text()}")


# ---------------------------------------------------------------- helpers --


def _login(page, base: str, name: str) -> None:
    """Log in on the hub's own login page, as a learner would."""
    page.goto(f"{base}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")


def _open_lesson(page, base: str, name: str) -> None:
    """Ask for the learner's lesson 01 on a fresh layout (returns once the hub answers)."""
    page.goto(f"{base}/user/{name}/lab/tree/radlab/{LESSON}?reset", wait_until="commit")


def _wait_until_run(pages: dict, deadline_s: float) -> dict:
    """Wait until every learner's lesson has finished; return the seconds each took."""
    t0, finished = time.monotonic(), {}
    while len(finished) < len(pages):
        if time.monotonic() - t0 > deadline_s:
            late = sorted(set(pages) - set(finished))
            pytest.fail(f"lesson 01 did not finish within {deadline_s:.0f} s for {late}")
        for name, page in pages.items():
            if name not in finished and chromium.finished(page):
                finished[name] = time.monotonic() - t0
        time.sleep(0.3)
    return finished


def _xsrf_headers(context) -> dict:
    """The header JupyterLab sends with each change, taken from the learner's cookie."""
    for cookie in context.cookies():
        if cookie["name"] == "_xsrf":
            return {"X-XSRFToken": cookie["value"]}
    return {}


def _peak_memory_mib(marker: str, program: bytes) -> float:
    """Largest peak resident memory (VmHWM), in MiB, of this test's processes running program."""
    peak = 0.0
    for pid in _marked_pids(marker):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        kib = re.search(r"VmHWM:\s+(\d+) kB", status)
        if program in command and kib:
            peak = max(peak, int(kib.group(1)) / 1024)
    return peak


# ------------------------------------------------------------------ the test --


@pytest.mark.browser
def test_two_learners_run_lesson_01_apart(hub):
    """Two learners log in, each runs lesson 01 in their own JupyterLab; their files stay apart."""
    base, tmp, log, marker = hub
    homes = {name: tmp / "homes" / name for name in LEARNERS}
    t0 = time.monotonic()
    with sync_playwright() as p:
        browser = chromium.launch(p)
        _log(f"Chromium {browser.version}")
        contexts = {
            name: browser.new_context(viewport={"width": 1280, "height": 1600}) for name in LEARNERS
        }
        pages = {name: contexts[name].new_page() for name in LEARNERS}
        passed = False
        try:
            # The hub's login page: a wrong password is refused, the right one lets in.
            page_a = pages[LEARNERS[0]]
            page_a.goto(f"{base}/hub/login")
            page_a.fill("#username_input", LEARNERS[0])
            page_a.fill("#password_input", "not-the-password")
            page_a.click("#login_submit")
            expect(page_a.locator(".login_error")).to_be_visible(timeout=STEP_MS)
            for name, page in pages.items():
                _login(page, base, name)
                expect(page).to_have_url(re.compile(rf"/user/{name}/|/hub/spawn"), timeout=STEP_MS)
            for name, page in pages.items():  # both servers start and load at the same time
                _open_lesson(page, base, name)
            for name, page in pages.items():
                chromium.wait_for_kernel(page, SPAWN_S)
                _log(f"{name}: JupyterLab open, kernel idle: {time.monotonic() - t0:.1f} s")
                # the hub copied the student lesson into this learner's own home
                assert (homes[name] / "radlab" / LESSON).is_file()
            for page in pages.values():  # both learners click Run All, then both wait
                chromium.run_all(page)
            took = _wait_until_run(pages, RUN_S)
            for name, page in pages.items():
                chromium.check_ran_cleanly(page, f"{name}'s lesson 01")
                _log(f"{name}: lesson 01 ran without error in {took[name]:.1f} s")
            _log(
                f"peak memory (smoke mode): a learner's kernel "
                f"{_peak_memory_mib(marker, b'ipykernel'):.0f} MiB, server "
                f"{_peak_memory_mib(marker, b'jupyterhub.singleuser'):.0f} MiB"
            )

            # Learner A saves the lesson (Ctrl+S) and writes a note through their own server.
            name_a, name_b = LEARNERS
            page_a.keyboard.press("Control+s")
            saved = homes[name_a] / "radlab" / LESSON
            deadline = time.monotonic() + STEP_MS / 1000
            while '"execution_count": 1' not in saved.read_text():
                assert time.monotonic() < deadline, f"{name_a}'s saved lesson holds no outputs"
                time.sleep(0.2)
            secret = f"a note only {name_a} may read {uuid.uuid4().hex}"
            response = contexts[name_a].request.put(
                f"{base}/user/{name_a}/api/contents/notes-a.txt",
                data=json.dumps({"type": "file", "format": "text", "content": secret}),
                headers={"Content-Type": "application/json", **_xsrf_headers(contexts[name_a])},
            )
            assert response.ok, f"{name_a} could not save a file: {response.status}"
            assert (homes[name_a] / "notes-a.txt").read_text() == secret
            assert not (homes[name_b] / "notes-a.txt").exists()
            # B's copy of the lesson is B's own: A's save changed nothing in it
            assert '"execution_count": 1' not in (homes[name_b] / "radlab" / LESSON).read_text()

            # Learner B: not in B's contents API, not in B's file browser, A's server refused.
            page_b = pages[name_b]
            listing = contexts[name_b].request.get(f"{base}/user/{name_b}/api/contents/")
            assert listing.ok, f"{name_b}'s contents API answered {listing.status}"
            names_b = {item["name"] for item in listing.json()["content"]}
            assert "radlab" in names_b and "notes-a.txt" not in names_b, names_b
            page_b.locator(".jp-BreadCrumbs-home").click()  # the file browser at B's home
            expect(page_b.locator(".jp-DirListing-content")).to_contain_text(
                "radlab", timeout=STEP_MS
            )
            items = page_b.locator(".jp-DirListing-itemText")
            assert "notes-a.txt" not in " ".join(items.all_inner_texts())
            stolen = contexts[name_b].request.get(
                f"{base}/user/{name_a}/api/contents/notes-a.txt", max_redirects=5
            )
            assert secret not in stolen.text(), f"{name_b} read {name_a}'s file through the hub"
            assert stolen.status == 403, f"the hub answered {stolen.status}, not 403 (forbidden)"
            _log(
                f"{name_b} asking for {name_a}'s file got HTTP {stolen.status} "
                f"at {stolen.url.split('?')[0]}"
            )
            _log(f"two learners, lesson 01 run, files apart: {time.monotonic() - t0:.1f} s")
            passed = True
        finally:
            if not passed:  # leave evidence next to the hub's log
                for name, page in pages.items():
                    shot = tmp / f"failed-{name}.png"
                    page.screenshot(path=str(shot), full_page=True)
                    _log(f"screenshot of {name}'s page: {shot}")
                _log(f"hub log: {log}")
            for context in contexts.values():
                context.close()
            browser.close()


# ------------------------------------------------- the Kubernetes values file --
# Keys documented for the Zero to JupyterHub chart (version 4, its reference page and the
# values.yaml it ships); the chart's own schema refuses any other key.
CHART_TOP = {
    "enabled", "fullnameOverride", "nameOverride", "custom", "imagePullSecret",
    "imagePullSecrets", "hub", "proxy", "singleuser", "scheduling", "ingress", "httpRoute",
    "prePuller", "cull", "debug", "rbac", "global",
}  # fmt: skip
CHART_SINGLEUSER = {
    "podNameTemplate", "extraTolerations", "nodeSelector", "extraNodeAffinity",
    "extraPodAffinity", "extraPodAntiAffinity", "networkTools", "cloudMetadata",
    "networkPolicy", "events", "extraAnnotations", "extraLabels", "extraFiles", "extraEnv",
    "lifecycleHooks", "initContainers", "extraContainers", "allowPrivilegeEscalation", "uid",
    "fsGid", "serviceAccountName", "storage", "image", "imagePullSecret", "startTimeout", "cpu",
    "memory", "extraResource", "cmd", "defaultUrl", "extraPodConfig", "profileList",
}  # fmt: skip
CHART_PREPULLER = {
    "revisionHistoryLimit", "labels", "annotations", "resources", "extraTolerations",
    "containerSecurityContext", "hook", "continuous", "pullProfileListImages", "extraImages",
    "pause",
}  # fmt: skip
CHART_CULL = {
    "enabled", "users", "adminUsers", "removeNamedServers", "timeout", "every", "concurrency",
    "maxAge",
}  # fmt: skip
CHART_SCHEDULING = {"userScheduler", "podPriority", "userPlaceholder", "corePods", "userPods"}
PROFILE_KEYS = {"display_name", "slug", "description", "default", "kubespawner_override",
                "profile_options"}  # fmt: skip
# KubeSpawner settings a profile may override (those this course uses and their neighbours)
OVERRIDE_KEYS = {
    "image", "image_pull_policy", "cpu_guarantee", "cpu_limit", "mem_guarantee", "mem_limit",
    "extra_resource_guarantees", "extra_resource_limits", "node_selector", "tolerations",
    "environment", "default_url", "lifecycle_hooks", "volumes", "volume_mounts",
}  # fmt: skip


def _bytes(size) -> float:
    """KubeSpawner's memory sizes ("3G", "512M", "2Gi") in bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?)?", str(size))
    assert match, f"{size!r} is no memory size KubeSpawner reads (like 3G or 512M)"
    number, unit = float(match.group(1)), match.group(2) or ""
    power = " KMGT".index(unit[:1] or " ")
    return number * (1024 if unit.endswith("i") else 1000) ** power


@pytest.fixture(scope="module")
def values():
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with jupyter_events: pip install -e .")
    return yaml.safe_load(VALUES.read_text())


def test_values_use_only_the_charts_keys(values):
    """Every key is one the chart documents (the chart's schema refuses any other)."""
    assert set(values) <= CHART_TOP, set(values) - CHART_TOP
    single = values["singleuser"]
    assert set(single) <= CHART_SINGLEUSER, set(single) - CHART_SINGLEUSER
    assert set(values["prePuller"]) <= CHART_PREPULLER, set(values["prePuller"]) - CHART_PREPULLER
    assert set(values["cull"]) <= CHART_CULL, set(values["cull"]) - CHART_CULL
    assert set(values["scheduling"]) <= CHART_SCHEDULING
    assert set(single["image"]) <= {"name", "tag", "pullPolicy", "pullSecrets"}
    assert set(single["memory"]) <= {"limit", "guarantee"}
    assert set(single["cpu"]) <= {"limit", "guarantee"}
    for profile in single["profileList"]:
        assert set(profile) <= PROFILE_KEYS, set(profile) - PROFILE_KEYS
        override = profile["kubespawner_override"]
        assert set(override) <= OVERRIDE_KEYS, set(override) - OVERRIDE_KEYS
    # hub.config holds JupyterHub's own settings, by class name
    for section in values["hub"]["config"]:
        assert re.fullmatch(r"[A-Z]\w+", section), f"hub.config.{section} is no class name"


def test_values_give_each_learner_a_share_and_the_gpu_profile_a_gpu(values):
    """Memory limit and guarantee for everyone; a CPU and a GPU profile; one default."""
    single = values["singleuser"]
    guarantee, limit = (_bytes(single["memory"][k]) for k in ("guarantee", "limit"))
    # lesson 01's kernel peaked at 1.4 GiB in cpu mode (workshop/README.md)
    assert 1.5 * 2**30 <= guarantee <= limit, single["memory"]
    profiles = {p["slug"]: p for p in single["profileList"]}
    assert set(profiles) == {"cpu", "gpu"}
    assert [p["slug"] for p in single["profileList"] if p.get("default")] == ["cpu"]
    for slug, profile in profiles.items():
        override = profile["kubespawner_override"]
        assert _bytes(override["mem_guarantee"]) <= _bytes(override["mem_limit"]), slug
        assert override["cpu_guarantee"] <= override["cpu_limit"], slug
        assert override["environment"]["RADLAB_MODE"] == slug
        # the course image, the one the pre-puller pulls: same name as singleuser.image
        assert override["image"].rsplit(":", 1)[0] == single["image"]["name"], slug
    gpu = profiles["gpu"]["kubespawner_override"]
    assert gpu["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
    assert "extra_resource_limits" not in profiles["cpu"]["kubespawner_override"]


def test_values_pull_before_the_day_and_cull_idle_servers(values):
    """Images pulled onto every node beforehand, never again during the day; idle servers stop."""
    pre = values["prePuller"]
    assert pre["hook"]["enabled"] and pre["continuous"]["enabled"]
    assert pre["pullProfileListImages"] is True
    assert values["singleuser"]["image"]["pullPolicy"] == "IfNotPresent"
    assert values["cull"]["enabled"] and 0 < values["cull"]["timeout"] <= 4 * 3600


def test_values_copy_the_course_once(values, tmp_path):
    """The start hook gives a learner the course once; a later start keeps the learner's work."""
    command = values["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    course = tmp_path / "image" / "course"
    course.mkdir(parents=True)
    (course / LESSON).write_text("the student copy")
    command = [part.replace("/srv/radlab/course", str(course)) for part in command]
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    subprocess.run(command, env=env, check=True, timeout=30)
    assert (home / "radlab" / LESSON).read_text() == "the student copy"
    (home / "radlab" / LESSON).write_text("the learner's answers")
    subprocess.run(command, env=env, check=True, timeout=30)  # the next day's start
    assert (home / "radlab" / LESSON).read_text() == "the learner's answers"

"""JupyterHub settings for a radlab workshop room on one machine (about 30 learners).

Start the hub as root, in the Python environment that holds the course (``pip install
jupyterhub`` there too), from the folder where it may keep its database and cookie secret::

    sudo RADLAB_TEACHER=teacher /srv/radlab/venv/bin/jupyterhub -f workshop/jupyterhub_config.py

Everything a room may want to change is read from environment variables, with these defaults:

- ``RADLAB_COURSE`` (``/srv/radlab/course``): the student copies of the lessons, made once with
  ``python -m radlab.course student --out /srv/radlab/course``. Each learner's first start copies
  this folder to ``~/radlab`` in their own home; a learner who already has ``~/radlab`` keeps it.
- ``RADLAB_DATA`` (``/srv/radlab/data``): the MedMNIST files, downloaded before the day with
  ``python -m data_download``; learners read them, nobody downloads during the workshop.
- ``RADLAB_MODE`` (``cpu``): the lessons' run mode.
- ``RADLAB_MEMORY`` (``3G``) and ``RADLAB_CPUS`` (``1``): each learner's share, enforced only when
  the spawner can (``jupyterhub-systemdspawner`` installed; see below).
- ``RADLAB_THREADS`` (``1``): threads each learner's PyTorch may use, so that 30 learners do not
  fight over the cores.
- ``RADLAB_HUB_URL`` (``http://:8000``): the address learners open (all network interfaces,
  port 8000). Put HTTPS in front of it on a shared network (the README says how).
- ``RADLAB_TEACHER``: the teacher's Linux user name, made a hub admin.
- ``RADLAB_LEARNERS_GROUP`` (``radlab``): only Linux users in this group may log in.

The room: learners are real Linux users (``useradd``), logging in with their Linux password (the
hub's default PAM login), each server running as its learner, in its learner's home. Under The
Littlest JupyterHub (TLJH), which brings its own login, spawner, memory limit and idle culling,
only the course part at the top of this file applies (drop the file into
``/opt/tljh/config/jupyterhub_config.d/``).

The test (tests/test_jupyterhub.py) loads this file and then replaces the room part: a shared
test password instead of Linux logins, and ``SimpleLocalProcessSpawner`` (servers run as the
test's own user, each learner's home a temporary folder) instead of real users.
"""

import importlib.util
import os
import pwd
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub defines get_config when it reads this file)

COURSE = Path(os.environ.get("RADLAB_COURSE", "/srv/radlab/course"))
DATA = os.environ.get("RADLAB_DATA", "/srv/radlab/data")
MODE = os.environ.get("RADLAB_MODE", "cpu")
MEMORY = os.environ.get("RADLAB_MEMORY", "3G")
CPUS = float(os.environ.get("RADLAB_CPUS", "1"))
THREADS = os.environ.get("RADLAB_THREADS", "1")

# ------------------------------------------------------------------ the course (any spawner) --

# What every learner's server and kernels see: the shared data, the run mode, the thread caps.
c.Spawner.environment = {
    "RADLAB_DATA": DATA,
    "RADLAB_MODE": MODE,
    "OMP_NUM_THREADS": THREADS,  # PyTorch and NumPy take their thread count from these
    "MKL_NUM_THREADS": THREADS,
}
c.Spawner.default_url = "/lab/tree/radlab/00_start_here.ipynb"
# 30 learners logging in together on one machine: starting JupyterLab may take a while.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120
# JupyterLab asks no question about news and checks for no update (the room may be offline).
c.Spawner.args = [
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
]


def _linux_user(spawner) -> pwd.struct_passwd | None:
    """The learner's Linux account: their hub name, or TLJH's ``jupyter-<name>``; None if none."""
    for name in (spawner.user.name, f"jupyter-{spawner.user.name}"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None  # no such account (yet; TLJH makes it only when the server starts)


def _learner_home(spawner) -> Path | None:
    """The folder the learner's server starts in: the spawner's own, else the Linux user's."""
    home = getattr(spawner, "home_dir", "")  # SimpleLocalProcessSpawner (the test) has one
    if home:
        return Path(home)
    user = _linux_user(spawner)
    return Path(user.pw_dir) if user else None


def copy_course(spawner) -> None:
    """Give a learner their own copy of the student lessons at ``~/radlab``, once.

    Runs in the hub just before each start of a learner's server. A learner who already has
    ``~/radlab`` keeps it as it is: their work is never overwritten.
    """
    home = _learner_home(spawner)
    if home is None:  # TLJH's first start: /etc/skel/radlab gives the new home its copy
        spawner.log.warning("radlab: no home folder for %s; no course copied", spawner.user.name)
        return
    target = home / "radlab"
    if target.exists():
        return
    if not COURSE.is_dir():
        spawner.log.error(
            "radlab: the student copies are missing at %s: run `python -m radlab.course student "
            "--out %s` (or set RADLAB_COURSE)",
            COURSE,
            COURSE,
        )
        return
    home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(COURSE, target)
    spawner.log.info("radlab: copied the course to %s", target)
    user = _linux_user(spawner)
    if user is not None and os.geteuid() == 0:  # hub runs as root: hand the copy to the learner
        for path in [target, *target.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)


c.Spawner.pre_spawn_hook = copy_course

# ------------------------------------------------------------ the room (plain JupyterHub) --

if importlib.util.find_spec("tljh") is None:  # TLJH sets all of this itself
    c.JupyterHub.bind_url = os.environ.get("RADLAB_HUB_URL", "http://:8000")
    # Learners log in with their Linux user name and password (PAM), if in the learners' group.
    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.allowed_groups = {os.environ.get("RADLAB_LEARNERS_GROUP", "radlab")}
    if os.environ.get("RADLAB_TEACHER"):
        c.Authenticator.admin_users = {os.environ["RADLAB_TEACHER"]}
    # Each learner's server runs as that learner, from the same Python as the hub.
    c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
    c.Spawner.mem_limit = MEMORY
    c.Spawner.cpu_limit = CPUS
    if importlib.util.find_spec("systemdspawner") is not None:
        # systemd enforces the memory and CPU share: a learner who runs out of memory loses
        # their own kernel, not the whole room's.
        c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
        c.SystemdSpawner.isolate_tmp = True
    else:
        # The default spawner runs each server as its Linux user but cannot hold it to its
        # memory share: size the machine so that 30 learners at their peak fit.
        c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
    # Stop servers idle for an hour (their memory goes back to the room); the learners' files
    # stay. Needs `pip install jupyterhub-idle-culler` in the hub's environment.
    if importlib.util.find_spec("jupyterhub_idle_culler") is not None:
        c.JupyterHub.load_roles = [
            {
                "name": "idle-culler",
                "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
                "services": ["idle-culler"],
            }
        ]
        c.JupyterHub.services = [
            {
                "name": "idle-culler",
                "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600"],
            }
        ]

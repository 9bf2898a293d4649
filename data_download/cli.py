"""The download command: ``python -m data_download list | medmnist NAME | verify``.

Examples (the data root defaults to ``RADLAB_DATA`` or a per-user cache folder)::

    python -m data_download list
    python -m data_download list --urls        # each file's address and MD5, to fetch by hand
    python -m data_download medmnist pneumoniamnist breastmnist --size 28
    python -m data_download verify --root /data/radlab

A mistake in the command (an unknown data set, a size that does not exist, an
unknown option) prints one line saying what to type instead and exits with 2.

Addresses and MD5 checksums come from ``radlab.data`` (one table for the whole
project). ``--base-url`` or the environment variable ``RADLAB_DOWNLOAD_BASE_URL``
replaces the official Zenodo folder ``https://zenodo.org/records/10519652/files``
(a mirror, or a test server).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from radlab import config
from radlab import data as rd

from .fetch import RETRIES, TIMEOUT_S, DownloadFailed, fetch

__all__ = ["BASE_URL_ENV", "main"]

BASE_URL_ENV = "RADLAB_DOWNLOAD_BASE_URL"
LIST_CHECK_MAX_BYTES = 100 * 2**20  # `list` hashes unchecked files up to this size (< 1 s)


def main(argv: list[str] | None = None) -> int:
    """Run the download command with ``argv`` (default: the command line); returns the exit code.

    0: done; 1: a download failed or a file is damaged; 2: a mistake in the command;
    130: stopped with Ctrl-C.
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(
            "\nStopped. A partial download is kept as <file>.part; run the same command again "
            "to resume it.",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # the reader stopped early, e.g. `list --urls | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m data_download",
        description="Fetch and check the course's data sets (MedMNIST 2D, official Zenodo files).",
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{list,medmnist,verify}")
    root_help = "data root holding medmnist/ (default: RADLAB_DATA or the per-user cache folder)"
    base_help = f"replace the Zenodo folder (default: ${BASE_URL_ENV} or the official one)"
    base_url = os.environ.get(BASE_URL_ENV) or None
    show = sub.add_parser(
        "list", help="what can be fetched, and what is already here", allow_abbrev=False
    )
    show.add_argument("--root", type=Path, help=root_help)
    show.add_argument(
        "--urls",
        action="store_true",
        help="print each file's download address and MD5 instead, to fetch it by hand",
    )
    show.add_argument("--base-url", default=base_url, help=base_help)
    show.set_defaults(run=_cmd_list)
    get = sub.add_parser(
        "medmnist", help="fetch MedMNIST files (checked against their MD5)", allow_abbrev=False
    )
    get.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        help=f"data set name(s), or 'all': {', '.join(rd.available())}",
    )
    get.add_argument(
        "--size", type=int, default=28, help="pixels per side: 28 (default), 64, 128, 224"
    )
    get.add_argument("--root", type=Path, help=root_help)
    get.add_argument("--base-url", default=base_url, help=base_help)
    get.add_argument(
        "--retries", type=int, default=RETRIES, help=f"extra tries (default {RETRIES})"
    )
    get.add_argument(
        "--timeout", type=float, default=TIMEOUT_S, help=f"seconds (default {TIMEOUT_S:g})"
    )
    get.add_argument("--quiet", action="store_true", help="no progress bar")
    get.set_defaults(run=_cmd_medmnist)
    check = sub.add_parser(
        "verify", help="check every file present against its MD5", allow_abbrev=False
    )
    check.add_argument("--root", type=Path, help=root_help)
    check.set_defaults(run=_cmd_verify)
    return parser


def _human(nbytes: int | None) -> str:
    return "?" if nbytes is None else rd.human_bytes(nbytes)


# --- list ------------------------------------------------------------------------------


def _status(row: dict) -> str:
    """One file's state for `list`; small unchecked files are hashed now (fast)."""
    if not row["present"]:
        partial = row["partial"]
        return (
            "not downloaded" if partial is None else f"partial ({_human(partial)}): rerun to resume"
        )
    if row["verified"]:
        return "present, verified"
    if row["nbytes"] <= LIST_CHECK_MAX_BYTES:
        return (
            "present, verified" if rd.verify_file(row["path"], row["md5"]) else "present, DAMAGED"
        )
    return "present, not checked yet (run verify)"


def _cmd_list(args) -> int:
    root = config.data_root(args.root)
    if args.urls:
        return _list_urls(root, args.base_url)
    print(f"MedMNIST 2D files (official Zenodo record 10519652) under {root / 'medmnist'}")
    print(f"{'name':<15} {'size':>4}  {'file':<23} {'bytes':>10}  status")
    for row in rd.inventory(root):
        if row["nbytes"] is not None:
            amount = _human(row["nbytes"])
        else:
            amount = "~" + _human(rd.card(row["name"]).estimated_bytes(row["size"]))
        print(
            f"{row['name']:<15} {row['size']:>4}  {row['filename']:<23} {amount:>10}  "
            f"{_status(row)}"
        )
    print("~ = uncompressed estimate; the exact size is known once the file is here.")
    print(
        "Fetch one with: python -m data_download medmnist NAME --size N "
        f"--root {shlex.quote(str(root))}"
    )
    print("Without a network here: python -m data_download list --urls (to fetch them by hand)")
    return 0


def _list_urls(root: Path, base_url: str | None) -> int:
    """Every file's download address and MD5, and where to put it: fetching by hand."""
    folder = root / "medmnist"
    source = f"mirror {base_url}" if base_url else "official Zenodo record 10519652"
    print(f"MedMNIST 2D files: download address and MD5 of each ({source}).")
    print(
        f"Save a file into {folder} under its file name (the last part of the address, "
        "before '?'), then check it with: "
        f"python -m data_download verify --root {shlex.quote(str(root))}"
    )
    print(f"{'name':<15} {'size':>4}  {'md5':<32}  address")
    for row in rd.inventory(root):
        url = rd.card(row["name"]).url(row["size"], base_url)
        print(f"{row['name']:<15} {row['size']:>4}  {row['md5']:<32}  {url}")
    return 0


# --- medmnist --------------------------------------------------------------------------


def _cmd_medmnist(args) -> int:
    names = rd.available() if [n.lower() for n in args.names] == ["all"] else args.names
    try:  # unknown names or sizes stop here, before any transfer
        cards = [rd.card(name) for name in names]
        for c in cards:
            c.file(args.size)
    except ValueError as exc:
        print(f"python -m data_download: error: {exc}", file=sys.stderr)
        return 2
    root = config.data_root(args.root)
    for c in cards:
        try:
            _fetch_one(c, args.size, root, args)
        except DownloadFailed as exc:
            print(f"\nDownload failed: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:  # the network is handled in fetch; this is the local disk
            print(
                f"\nCould not write into {rd.file_path(c.name, args.size, root).parent} ({exc}). "
                "Choose a writable folder with --root DIR (or set RADLAB_DATA) and check the free "
                "disk space.",
                file=sys.stderr,
            )
            return 1
    return 0


def _fetch_one(c: rd.DatasetCard, size: int, root: Path, args) -> None:
    """Fetch one file unless a verified copy is already here."""
    entry, dest = c.file(size), rd.file_path(c.name, size, root)
    if dest.is_file():
        if rd.verify_file(dest, entry.md5):
            print(f"{dest} is already here and verified (MD5 {entry.md5}).")
            return
        print(f"{dest} is damaged (wrong MD5): removing it and fetching it again.")
        dest.unlink()
    url = c.url(size, args.base_url)
    print(f"Fetching {c.title}, {size} x {size} pixels\n  from {url}\n  into {dest}")
    fetch(
        url,
        dest,
        entry.md5,
        retries=args.retries,
        timeout=args.timeout,
        progress=not args.quiet,
        manual=rd.manual_steps(c.name, size, root, args.base_url),
    )
    print(
        f"Saved {dest} ({_human(dest.stat().st_size)}), MD5 {entry.md5} verified. Licence "
        f"{c.licence}; to cite it, see rl.data.card({c.name!r})."
    )


# --- verify ----------------------------------------------------------------------------


def _cmd_verify(args) -> int:
    root = config.data_root(args.root)
    damaged = good = 0
    for row in rd.inventory(root):
        command = rd.download_command(row["name"], row["size"], root)
        if row["partial"] is not None:
            print(
                f"partial  {row['filename']}.part: an interrupted download; "
                f"resume it with: {command}"
            )
        if not row["present"]:
            continue
        if rd.verify_file(row["path"], row["md5"], fresh=True):
            good += 1
            print(f"good     {row['filename']} (MD5 {row['md5']})")
        else:
            damaged += 1
            print(
                f"DAMAGED  {row['filename']}: its MD5 is not {row['md5']} (incomplete or altered); "
                f"fetch it again with: {command}"
            )
    if not good + damaged:
        print(
            f"No MedMNIST files under {root / 'medmnist'} yet. Fetch one with: "
            f"{rd.download_command('pneumoniamnist', 28, root)}"
        )
    else:
        print(f"{good} good, {damaged} damaged, under {root / 'medmnist'}")
    return 1 if damaged else 0

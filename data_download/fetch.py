"""Fetch one file over HTTP (standard library only): progress, resume, bounded retries, MD5.

The bytes go into ``<file>.part``; an interrupted transfer is resumed from
where it stopped with an HTTP ``Range`` request. Only a file whose MD5 matches
takes its final name (an atomic ``os.replace``), so a damaged or half-fetched
file never sits where the course looks for data.

Expected failures (offline, server error, cut transfer, wrong checksum) raise
:class:`DownloadFailed`, whose message says what happened and what to do.
"""

from __future__ import annotations

import http.client
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from radlab.data import mark_verified, md5sum

__all__ = ["DownloadFailed", "TIMEOUT_S", "RETRIES", "BACKOFF_S", "fetch"]

TIMEOUT_S = 30.0  # seconds a connection or a read may stall before the try counts as failed
RETRIES = 3  # extra tries after the first; never retry forever
BACKOFF_S = 2.0  # wait before retry k: BACKOFF_S * 2 ** (k - 1) seconds
CHUNK_BYTES = 1 << 16
USER_AGENT = "radlab-data-download/0.1 (Python urllib)"
_RANGE = re.compile(r"bytes\s+(\d+|\*)(?:-(\d+))?/(\d+|\*)")


class DownloadFailed(Exception):
    """An expected download failure; the message explains it and gives the manual steps."""


class _Failure(Exception):
    """One failed try: what went wrong (``text``) and whether another try may help."""

    def __init__(self, text: str, retry: bool):
        super().__init__(text)
        self.text, self.retry = text, retry


def fetch(
    url: str,
    dest: str | Path,
    md5: str,
    *,
    retries: int | None = None,
    timeout: float | None = None,
    progress: bool = True,
    manual: str = "",
) -> Path:
    """Download ``url`` to ``dest``, resuming a ``dest.part`` left by an earlier try.

    Args:
        url: address of the file.
        dest: final path; it appears only once the MD5 matches.
        md5: expected MD5 checksum (hex).
        retries: extra tries after a network or server failure (default :data:`RETRIES`).
        timeout: seconds before a stalled connection counts as failed (default :data:`TIMEOUT_S`).
        progress: show a progress bar.
        manual: the manual steps, appended to every failure message.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    retries = RETRIES if retries is None else max(0, int(retries))
    failure = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(BACKOFF_S * 2 ** (attempt - 1))
        try:
            _transfer(url, part, TIMEOUT_S if timeout is None else timeout, progress)
            failure = None
            break
        except _Failure as exc:
            failure = exc
            if not exc.retry:
                break
    if failure is not None:
        tries = (
            f"(Gave up after {attempt + 1} tr{'ies' if attempt else 'y'}.)" if failure.retry else ""
        )
        raise DownloadFailed(_paragraph(failure.text, tries, manual))
    _finish(part, dest, md5, manual)
    return dest


def _paragraph(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p.strip())


def _transfer(url: str, part: Path, timeout: float, progress: bool) -> None:
    """One try: ask for the bytes not yet in ``part`` and append them."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"  # resume: only the missing tail
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        )
    except urllib.error.HTTPError as exc:
        _refused(exc, url, part, have)
        return  # a 416 for a part that is already complete: the checksum decides
    except urllib.error.URLError as exc:
        host = urllib.parse.urlsplit(url).netloc
        raise _Failure(
            f"Could not reach {host} ({exc.reason}): this computer may be offline, "
            "or a firewall or proxy blocks the connection.",
            retry=True,
        ) from None
    except (OSError, http.client.HTTPException) as exc:  # connected, but no answer came
        raise _Failure(
            f"The server closed the connection without answering ({exc!r}).", retry=True
        ) from None
    with response:
        start = _resume_point(response, part, have)
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        _copy(response, part, start, total, progress)


def _refused(exc: urllib.error.HTTPError, url: str, part: Path, have: int) -> None:
    """Handle an HTTP error: 416 (part already whole, or too long), 5xx (retry), others (stop)."""
    exc.close()
    if exc.code == 416 and have:
        match = _RANGE.match(exc.headers.get("Content-Range", ""))
        if match and match.group(3) == str(have):
            return  # the part already holds the whole file
        part.unlink(missing_ok=True)  # the part is longer than the file: start again
        raise _Failure(
            "The partial download did not match the file on the server; it was "
            "deleted to start again.",
            retry=True,
        )
    reason = f"HTTP {exc.code} {exc.reason}"
    if exc.code >= 500 or exc.code in (408, 429):
        raise _Failure(
            f"The server answered with an error ({reason}); it may be busy or down "
            "for a while, so try again later.",
            retry=True,
        )
    raise _Failure(f"The server has no file at {url} ({reason}).", retry=False)


def _resume_point(response, part: Path, have: int) -> int:
    """Byte offset the answer starts at: ``have`` for a 206 resume, 0 for a whole-file 200."""
    if response.status != 206:
        return 0  # the server sent the whole file: write it from the start
    match = _RANGE.match(response.headers.get("Content-Range", ""))
    if not match or match.group(1) != str(have):
        part.unlink(missing_ok=True)
        raise _Failure(
            "The server resumed at an unexpected position; the partial download was "
            "deleted to start again.",
            retry=True,
        )
    return have


def _copy(response, part: Path, start: int, total: int | None, progress: bool) -> None:
    """Stream the answer into ``part`` (appending after ``start`` bytes) with a progress bar."""
    done, broken = start, False
    with (
        open(part, "ab" if start else "wb") as fh,
        tqdm(
            total=total,
            initial=start,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=part.name.removesuffix(".part"),
            disable=not progress,
        ) as bar,
    ):
        while True:
            try:
                block = response.read(CHUNK_BYTES)
            except (OSError, http.client.HTTPException):  # reset, read timeout, short read
                broken = True
                break
            if not block:
                break
            fh.write(block)
            done += len(block)
            bar.update(len(block))
    if broken or (total is not None and done < total):
        of_total = f" of {total:,}" if total is not None else ""
        raise _Failure(
            f"The transfer stopped early: {done:,}{of_total} bytes arrived. The part "
            f"already fetched is kept in {part}; run the same command again to resume "
            "from there.",
            retry=True,
        )


def _finish(part: Path, dest: Path, md5: str, manual: str) -> None:
    """Give ``part`` its final name only when its MD5 matches; otherwise delete it."""
    got = md5sum(part)
    if got != md5:
        part.unlink(missing_ok=True)
        raise DownloadFailed(
            _paragraph(
                f"The downloaded file's MD5 checksum is {got}, not the expected {md5}: the copy "
                "is damaged or is not the official file. It was deleted, and nothing was saved "
                f"as {dest}. Run the same command again; if this repeats, the server or a proxy "
                "is altering the file.",
                manual,
            )
        )
    os.replace(part, dest)  # atomic: the final name appears only for a verified file
    mark_verified(dest, md5)

"""Tests for the download command against a real HTTP server on 127.0.0.1 (no internet)."""

import dataclasses
import hashlib
import os
import random
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from data_download import fetch as fetch_module
from data_download.cli import main
from radlab import data as rd

REPO = Path(__file__).resolve().parents[1]
FAKE = random.Random(0).randbytes(300_000)  # several 64 KiB chunks
FAKE_MD5 = hashlib.md5(FAKE).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves the server's files with Range support; its behaviour is set on the server."""

    def do_GET(self):
        srv = self.server
        srv.requests.append((urlsplit(self.path).path, self.headers.get("Range")))
        if srv.mode == "error500":
            self.send_error(500, "Internal Server Error")
            return
        body = srv.files.get(urlsplit(self.path).path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        if srv.mode == "wrong":
            body = bytes(255 - b for b in body)  # same length, different bytes
        start = self._start(len(body))
        if start is None:
            return
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if srv.cuts_left > 0:  # close the connection after cut_after bytes
            srv.cuts_left -= 1
            payload = payload[: srv.cut_after]
        self.wfile.write(payload)

    def _start(self, size):
        """Send the status line for a whole (200) or partial (206) answer; None after a 416."""
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if not match or self.server.mode == "ignore_range":
            self.send_response(200)
            return 0
        start = int(match.group(1))
        if start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        return start

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 (port chosen by the system), stopped after the test."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests, httpd.mode = {"/files/fakemnist.npz": FAKE}, [], "normal"
    httpd.cuts_left, httpd.cut_after = 0, 0  # answers to cut short, and after how many bytes
    httpd.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/files"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def fake_card(monkeypatch):
    """A test-only card 'fakemnist' whose 28 px file is FAKE; no waiting between retries."""
    base = rd.card("breastmnist")
    card = dataclasses.replace(
        base,
        name="fakemnist",
        title="FakeMNIST",
        files=(rd.MedMNISTFile(28, "fakemnist.npz", FAKE_MD5, len(FAKE)),),
    )
    monkeypatch.setitem(rd.CARDS, "fakemnist", card)
    monkeypatch.setattr(fetch_module, "BACKOFF_S", 0.0)
    return card


def _get(server, root, *extra):
    return main(
        [
            "medmnist",
            "fakemnist",
            "--root",
            str(root),
            "--base-url",
            server.base_url,
            "--quiet",
            *extra,
        ]
    )


def test_download_then_verify(server, fake_card, tmp_path, capsys):
    assert _get(server, tmp_path) == 0
    final = tmp_path / "medmnist" / "fakemnist.npz"
    assert final.read_bytes() == FAKE
    assert not (tmp_path / "medmnist" / "fakemnist.npz.part").exists()
    assert "verified" in capsys.readouterr().out
    assert server.requests == [("/files/fakemnist.npz", None)]
    assert main(["verify", "--root", str(tmp_path)]) == 0
    assert re.search(r"good\s+fakemnist.npz", capsys.readouterr().out)
    assert _get(server, tmp_path) == 0  # already here: no second transfer
    assert "already here and verified" in capsys.readouterr().out
    assert len(server.requests) == 1


def test_resume_after_cut_within_one_run(server, fake_card, tmp_path):
    server.cuts_left, server.cut_after = 1, 100_000
    assert _get(server, tmp_path, "--retries", "1") == 0
    assert (tmp_path / "medmnist" / "fakemnist.npz").read_bytes() == FAKE
    assert [r for _, r in server.requests] == [None, "bytes=100000-"]


def test_cut_keeps_part_and_rerun_resumes(server, fake_card, tmp_path, capsys):
    server.cuts_left, server.cut_after = 1, 120_000
    assert _get(server, tmp_path, "--retries", "0") == 1
    err = capsys.readouterr().err
    assert "stopped early" in err and "run the same command again" in err and "Traceback" not in err
    part = tmp_path / "medmnist" / "fakemnist.npz.part"
    assert part.stat().st_size == 120_000 and not (tmp_path / "medmnist" / "fakemnist.npz").exists()
    main(["list", "--root", str(tmp_path)])
    assert re.search(r"fakemnist\s+28 .*partial", capsys.readouterr().out)
    assert _get(server, tmp_path) == 0
    assert server.requests[-1][1] == "bytes=120000-"
    assert (tmp_path / "medmnist" / "fakemnist.npz").read_bytes() == FAKE and not part.exists()


def test_complete_part_answered_416_is_checked_and_kept(server, fake_card, tmp_path):
    (tmp_path / "medmnist").mkdir()
    (tmp_path / "medmnist" / "fakemnist.npz.part").write_bytes(FAKE)
    assert _get(server, tmp_path) == 0
    assert server.requests == [("/files/fakemnist.npz", f"bytes={len(FAKE)}-")]
    assert (tmp_path / "medmnist" / "fakemnist.npz").read_bytes() == FAKE


def test_server_ignoring_range_restarts_from_zero(server, fake_card, tmp_path):
    server.mode = "ignore_range"
    (tmp_path / "medmnist").mkdir()
    (tmp_path / "medmnist" / "fakemnist.npz.part").write_bytes(b"x" * 5000)
    assert _get(server, tmp_path) == 0
    assert (tmp_path / "medmnist" / "fakemnist.npz").read_bytes() == FAKE


def _assert_manual_steps(err, root, url):
    assert url in err and "browser" in err
    assert str(root / "medmnist") in err
    assert FAKE_MD5 in err
    assert f"python -m data_download verify --root {root}" in err
    assert "Traceback" not in err
    assert not (root / "medmnist" / "fakemnist.npz").exists()


def test_server_error_message(server, fake_card, tmp_path, capsys):
    server.mode = "error500"
    assert _get(server, tmp_path, "--retries", "2") == 1
    err = capsys.readouterr().err
    assert "HTTP 500" in err and "3 tries" in err
    assert len(server.requests) == 3  # bounded retries
    _assert_manual_steps(err, tmp_path, f"{server.base_url}/fakemnist.npz")


def test_missing_on_server_is_not_retried(server, fake_card, tmp_path, capsys):
    server.files.clear()
    assert _get(server, tmp_path, "--retries", "3") == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err and len(server.requests) == 1
    _assert_manual_steps(err, tmp_path, f"{server.base_url}/fakemnist.npz")


def test_offline_message(fake_card, tmp_path, capsys):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    code = main(
        [
            "medmnist",
            "fakemnist",
            "--root",
            str(tmp_path),
            "--base-url",
            url,
            "--quiet",
            "--retries",
            "1",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"Could not reach 127.0.0.1:{port}" in err and "offline" in err
    _assert_manual_steps(err, tmp_path, f"{url}/fakemnist.npz")


def test_wrong_checksum_leaves_nothing(server, fake_card, tmp_path, capsys):
    server.mode = "wrong"
    assert _get(server, tmp_path) == 1
    err = capsys.readouterr().err
    assert "MD5" in err and "deleted" in err
    _assert_manual_steps(err, tmp_path, f"{server.base_url}/fakemnist.npz")
    assert list((tmp_path / "medmnist").iterdir()) == []


def test_damaged_file_is_replaced(server, fake_card, tmp_path, monkeypatch):
    (tmp_path / "medmnist").mkdir()
    (tmp_path / "medmnist" / "fakemnist.npz").write_bytes(b"not the file")
    monkeypatch.setenv("RADLAB_DOWNLOAD_BASE_URL", server.base_url)  # the override by environment
    assert main(["medmnist", "fakemnist", "--root", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "medmnist" / "fakemnist.npz").read_bytes() == FAKE


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("python -m data_download"), lines
    return lines[0]


def test_unknown_name_or_size(tmp_path, capsys):
    assert main(["medmnist", "pneumonia", "--root", str(tmp_path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "did you mean 'pneumoniamnist'?" in line  # the closest name
    assert "liver-lesions and fibrosis need no download" in line
    assert main(["medmnist", "breastmnist", "--size", "32", "--root", str(tmp_path)]) == 2
    assert "28, 64, 128, 224" in _one_line(capsys.readouterr().err)
    assert main(["medmnist", "breastmnist", "dermamnsit", "--root", str(tmp_path)]) == 2
    assert "did you mean 'dermamnist'?" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "medmnist").exists()  # nothing fetched before the names were checked


def test_a_phantom_task_needs_no_download(tmp_path, capsys):
    assert main(["medmnist", "fibrosis", "--root", str(tmp_path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "fibrosis is a phantom task" in line and "needs no download" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["medmnist", "breastmnist", "--size", "big"],
        ["medmnist", "breastmnist", "--roo", "/tmp"],  # no abbreviations of --root
        ["list", "--url"],  # nor of --urls
        ["fetch", "breastmnist"],
        ["medmnist"],
        [],
    ],
)
def test_option_mistakes_print_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    _one_line(capsys.readouterr().err)


def test_list_urls_prints_every_address_and_md5(tmp_path, capsys):
    assert main(["list", "--urls", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if re.match(r"\w+mnist\s+\d+\s", line)]
    assert len(rows) == 48
    for name, size, md5, url in rows:
        entry = rd.card(name).file(int(size))
        assert md5 == entry.md5
        assert url == f"https://zenodo.org/records/10519652/files/{entry.filename}?download=1"
    assert str(tmp_path / "medmnist") in out  # where to save a file fetched by hand
    assert f"python -m data_download verify --root {tmp_path}" in out
    assert not (tmp_path / "medmnist").exists()  # listing writes nothing


def test_list_urls_follows_a_mirror(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RADLAB_DOWNLOAD_BASE_URL", "http://mirror.example/medmnist")
    assert main(["list", "--urls", "--root", str(tmp_path)]) == 0
    assert "http://mirror.example/medmnist/breastmnist.npz?download=1" in capsys.readouterr().out
    main(["list", "--urls", "--root", str(tmp_path), "--base-url", "http://other.example/m"])
    assert "http://other.example/m/breastmnist_64.npz?download=1" in capsys.readouterr().out


def test_plain_list_points_to_the_addresses(tmp_path, capsys):
    assert main(["list", "--root", str(tmp_path)]) == 0
    assert "python -m data_download list --urls" in capsys.readouterr().out


def test_data_root_from_the_environment(medmnist_root, monkeypatch, capsys):
    monkeypatch.setenv("RADLAB_DATA", str(medmnist_root))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert f"under {medmnist_root / 'medmnist'}" in out
    assert re.search(r"breastmnist\s+28\s+breastmnist.npz\s+.*present, verified", out)


def test_real_file_end_to_end(server, medmnist_root, tmp_path, capsys):
    server.files["/files/pneumoniamnist.npz"] = (
        medmnist_root / "medmnist" / "pneumoniamnist.npz"
    ).read_bytes()
    code = main(
        ["medmnist", "pneumoniamnist", "--root", str(tmp_path), "--base-url", server.base_url]
    )
    assert code == 0, capsys.readouterr().err
    final = tmp_path / "medmnist" / "pneumoniamnist.npz"
    assert rd.md5sum(final) == "28209eda62fecd6e6a2d98b1501bb15f"
    x, y = rd.medmnist("pneumoniamnist", split="test", root=tmp_path)
    assert x.shape == (624, 1, 28, 28) and y.shape == (624,)


def test_list_shows_present_files(medmnist_root, capsys):
    assert main(["list", "--root", str(medmnist_root)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"pneumoniamnist\s+28\s+pneumoniamnist.npz\s+4.0 MiB\s+present, verified", out)
    assert re.search(r"breastmnist\s+28\s+breastmnist.npz\s+.*present, verified", out)
    assert re.search(r"pathmnist\s+224\s+pathmnist_224.npz\s+.*not downloaded", out)
    assert len([line for line in out.splitlines() if re.match(r"\w+mnist\s+\d+", line)]) == 48


def test_verify_reports_real_files_good(medmnist_root, capsys):
    assert main(["verify", "--root", str(medmnist_root)]) == 0
    out = capsys.readouterr().out
    present = sorted(p.name for p in (medmnist_root / "medmnist").glob("*.npz"))
    for name in present:  # every real file there, however many the shared folder holds
        assert re.search(rf"good\s+{re.escape(name)}", out)
    assert f"{len(present)} good, 0 damaged" in out


def test_verify_flags_a_damaged_file(medmnist_root, tmp_path, capsys):
    (tmp_path / "medmnist").mkdir()
    blob = bytearray((medmnist_root / "medmnist" / "breastmnist.npz").read_bytes())
    blob[1000] ^= 1
    (tmp_path / "medmnist" / "breastmnist.npz").write_bytes(bytes(blob))
    assert main(["verify", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "DAMAGED  breastmnist.npz" in out
    assert f"python -m data_download medmnist breastmnist --size 28 --root {tmp_path}" in out


def test_module_entry_point(medmnist_root):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "data_download", "verify", "--root", str(medmnist_root)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "good     pneumoniamnist.npz" in done.stdout and "good     breastmnist.npz" in done.stdout
    )

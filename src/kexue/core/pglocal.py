"""A throwaway local PostgreSQL server for Optuna studies shared by several workers (kexue.core.tune), and for
the test that runs two workers against one.

    python -m kexue.core.pglocal start data/tune-db [--port 5439]   # prints the storage URL for TUNE_STORAGE
    python -m kexue.core.pglocal stop data/tune-db

Workers on other machines point at a server they can reach (TUNE_STORAGE=postgresql://user@host:port/db); this
one listens on 127.0.0.1 only and trusts every local connection, so it is for one machine's workers and tests.
It needs PostgreSQL's server programs (initdb, pg_ctl: Debian's `postgresql` package, which .ci/run installs
when they are missing). PostgreSQL refuses to run as root: as root the cluster is made and run as the
`postgres` system user, in a folder that user owns.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

USER = "kexue"          # the cluster's superuser: the URL's user


def server_bin(name: str) -> str | None:
    """initdb / pg_ctl from PATH, or Debian's versioned folder (which is not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    version = lambda p: tuple(int(x) for x in Path(p).parts[4].split(".") if x.isdigit())
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version)
    return versions[-1] if versions else None


def available() -> str | None:
    """None when a local server can be started here, or why not."""
    missing = [n for n in ("initdb", "pg_ctl") if server_bin(n) is None]
    if missing:
        return (f"PostgreSQL's {' and '.join(missing)} not found (install Debian's postgresql package: "
                f"apt-get install postgresql; .ci/run does)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: PostgreSQL cannot be started as root"
    if os.geteuid() == 0:
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` system user to run the server as"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def url(port: int, database: str = "postgres") -> str:
    return f"postgresql://{USER}@127.0.0.1:{port}/{database}"


def start(directory, port: int | None = None) -> str:
    """Make a cluster in `directory` (when it has none) and start it on 127.0.0.1:`port`; returns the URL."""
    reason = available()
    if reason:
        raise SystemExit(f"error: cannot start a local PostgreSQL: {reason}")
    directory = Path(directory).resolve()
    port = port or free_port()
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        directory.chmod(0o700)
    if not (directory / "PG_VERSION").exists():
        run = subprocess.run(_as_server_user([server_bin("initdb"), "-D", str(directory), "-U", USER,
                                              "--auth=trust", "--encoding=UTF8", "--no-sync"]),
                             capture_output=True, text=True)
        if run.returncode:
            raise SystemExit(f"error: initdb {directory} failed:\n{run.stderr.strip()}")
    opts = f"-p {port} -k '{directory}' -c listen_addresses=127.0.0.1 -c fsync=off"
    run = subprocess.run(_as_server_user([server_bin("pg_ctl"), "-D", str(directory), "-o", opts, "-w", "-t", "60",
                                          "-l", str(directory / "server.log"), "start"]),
                         capture_output=True, text=True)
    if run.returncode:
        log = (directory / "server.log").read_text(errors="replace")[-2000:] if (directory / "server.log").exists() else ""
        raise SystemExit(f"error: pg_ctl start failed:\n{run.stderr.strip()}\n{log}")
    (directory / "kexue.port").write_text(str(port))
    return url(port)


def stop(directory) -> None:
    directory = Path(directory).resolve()
    pg_ctl = server_bin("pg_ctl")
    if pg_ctl and (directory / "postmaster.pid").exists():
        subprocess.run(_as_server_user([pg_ctl, "-D", str(directory), "-m", "fast", "-w", "stop"]),
                       capture_output=True, text=True)
    (directory / "kexue.port").unlink(missing_ok=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["start", "stop", "url"])
    p.add_argument("directory", help="the cluster's folder (made on first start)")
    p.add_argument("--port", type=int, help="default: a free port (start), the running one (url)")
    args = p.parse_args(argv)
    if args.action == "start":
        print(start(args.directory, args.port))
    elif args.action == "stop":
        stop(args.directory)
    else:
        port_file = Path(args.directory) / "kexue.port"
        if not port_file.exists():
            raise SystemExit(f"error: {args.directory} has no running server started by this module")
        print(url(args.port or int(port_file.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A private Postfix for end-to-end tests: Debian's Postfix with its own configuration directory.

It listens on one free loopback port, delivers `example.test` into maildirs under its own
folder, hands `lists.test` mail to listtrack through aliases written as the deployment guide
says, and can send nothing off the machine (`default_transport = error`). The alias pipes run
as a dedicated Unix user, as they would on a real host; `pipe_user` creates it for the run.
"""

from __future__ import annotations

import contextlib
import email
import fcntl
import os
import pwd
import re
import shutil
import smtplib
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

POSTFIX = Path("/usr/sbin/postfix")
LIST_DOMAIN = "lists.test"
MAILBOX_DOMAIN = "example.test"
HOSTNAME = "mta.lists.test"
PIPE_USER = "listtrack-e2e"
PIPE_USER_COMMENT = "listtrack end-to-end test (temporary)"
ROOT_PREFIX = "listtrack-postfix-"
USERS_LOCK = Path(tempfile.gettempdir()) / "listtrack-postfix-e2e.lock"
REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# local(8) puts these in front of what it pipes to a command (postfix local(8) manual):
# an mbox "From " line, then Return-Path, X-Original-To and Delivered-To.
LOCAL_DELIVERY_HEADERS = (b"return-path:", b"x-original-to:", b"delivered-to:")

MASTER_CF = """\
{port_service} inet n - n - - smtpd
cleanup    unix  n - n - 0 cleanup
qmgr       unix  n - n 300 1 qmgr
rewrite    unix  - - n - - trivial-rewrite
bounce     unix  - - n - 0 bounce
defer      unix  - - n - 0 bounce
trace      unix  - - n - 0 bounce
verify     unix  - - n - 1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n - - proxymap
proxywrite unix  - - n - 1 proxymap
smtp       unix  - - n - - smtp
relay      unix  - - n - - smtp
showq      unix  n - n - - showq
error      unix  - - n - - error
retry      unix  - - n - - error
discard    unix  - - n - - discard
local      unix  - n n - - local
virtual    unix  - n n - - virtual
anvil      unix  - - n - 1 anvil
scache     unix  - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
"""


def postfix_missing_reason() -> str | None:
    """Why a private Postfix cannot run here, or None when it can."""
    if not POSTFIX.exists():
        return "Postfix is not installed (run .ci/install-postfix as root)"
    if os.geteuid() != 0:
        return "a private Postfix instance must be started as root"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(command: list[str], **options) -> subprocess.CompletedProcess:
    """Run a setup command; on failure raise with its own output, not a bare exit status."""
    done = subprocess.run(command, capture_output=True, text=True, **options)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: "
                           f"{(done.stderr or done.stdout).strip()}")
    return done


@dataclass
class PipeUser:
    """The Unix user the alias pipes (and every listtrack command in the test) run as."""

    name: str
    uid: int
    gid: int
    granted: list[Path] = field(default_factory=list)


def _can_search(directory: Path, user: PipeUser) -> bool:
    info = directory.stat()
    if info.st_uid == user.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == user.gid:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _reachable_paths() -> Iterator[Path]:
    """What the console scripts need: the venv, its base Python, the project's code."""
    for path in (BIN / "listtrack-ingest", Path(sys.executable), Path(sys.base_prefix) / "lib",
                 Path(sys.prefix) / "lib", REPO_ROOT / "listtrack"):
        yield path
        yield path.resolve()


def grant_search(user: PipeUser, paths: Iterable[Path]) -> None:
    """Let the user through the directories on the way to `paths` that stop it (a Python
    installed under /root, say) with a search-only ACL entry, removed by `revoke_search`."""
    for path in paths:
        for directory in reversed([*path.parents]):
            if directory in user.granted or _can_search(directory, user):
                continue
            if shutil.which("setfacl") is None:
                raise RuntimeError(f"{user.name} cannot reach {directory} and setfacl is missing "
                                   f"(run .ci/install-postfix)")
            run(["setfacl", "-m", f"u:{user.name}:x", str(directory)])
            user.granted.append(directory)


def revoke_search(user: PipeUser) -> None:
    """Remove the user's ACL entries from every directory on those paths, whichever run of
    the test added them."""
    if shutil.which("getfacl") is None:
        return
    candidates = {directory for path in _reachable_paths() for directory in path.parents
                  if not directory.stat().st_mode & stat.S_IXOTH}
    for directory in sorted(candidates | set(user.granted), reverse=True):
        listing = subprocess.run(["getfacl", "-c", str(directory)], capture_output=True,
                                 text=True)
        if f"user:{user.name}:" in listing.stdout:
            run(["setfacl", "-x", f"u:{user.name}", str(directory)])
            left = subprocess.run(["getfacl", "-c", str(directory)], capture_output=True,
                                  text=True).stdout
            if not re.search(r"^(user|group):[^:\n]+:", left, re.MULTILINE):
                run(["setfacl", "-b", str(directory)])  # only the mask was left: drop it too
    user.granted.clear()


@contextlib.contextmanager
def pipe_user(name: str = PIPE_USER) -> Iterator[PipeUser]:
    """A system user for the run; the last of concurrent runs to finish removes it again."""
    with USERS_LOCK.open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            run(["useradd", "--system", "--user-group", "--no-create-home",
                 "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                 "--comment", PIPE_USER_COMMENT, name])
            entry = pwd.getpwnam(name)
        user = PipeUser(name=name, uid=entry.pw_uid, gid=entry.pw_gid)
        try:
            grant_search(user, _reachable_paths())
            yield user
        finally:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another run still uses the user and the ACL entries; it removes them
            else:
                revoke_search(user)
                if entry.pw_gecos == PIPE_USER_COMMENT:
                    subprocess.run(["userdel", name], capture_output=True)


@dataclass
class PostfixInstance:
    """One running private Postfix and the listtrack instance its aliases feed."""

    root: Path
    port: int
    user: PipeUser

    @property
    def config_dir(self) -> Path:
        return self.root / "etc"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "maillog"

    @property
    def listtrack_dir(self) -> Path:
        """The listtrack instance folder (LISTTRACK_INSTANCE), owned by the pipe user."""
        return self.root / "listtrack"

    @property
    def copies_dir(self) -> Path:
        """Where the recorder keeps, byte for byte, what Postfix piped to the report alias."""
        return self.root / "copies"

    def postfix(self, *arguments: str) -> subprocess.CompletedProcess:
        return run([str(POSTFIX), "-c", str(self.config_dir), *arguments])

    def postconf(self, *settings: str) -> None:
        run(["postconf", "-c", str(self.config_dir), "-e", *settings])

    def running(self) -> bool:
        return subprocess.run([str(POSTFIX), "-c", str(self.config_dir), "status"],
                              capture_output=True).returncode == 0

    def stop(self) -> None:
        if not self.running():
            return
        subprocess.run([str(POSTFIX), "-c", str(self.config_dir), "stop"], capture_output=True)
        deadline = time.monotonic() + 20
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.running():
            subprocess.run([str(POSTFIX), "-c", str(self.config_dir), "abort"],
                           capture_output=True)

    def log(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, what: str, condition: Callable[[], object], timeout: float = 60.0,
                 fail_on_local_failure: bool = True, since: int = 0) -> None:
        """Poll until `condition()`; on time-out fail with what was awaited and the log's end.

        A local delivery that Postfix deferred or bounced (logged after offset `since`) ends
        the wait at once: that is a pipe that failed, and waiting would only hide its message.
        """
        deadline = time.monotonic() + timeout
        while not condition():
            failed = [line for line in self.log()[since:].splitlines()
                      if "relay=local" in line and "status=sent" not in line]
            if failed and fail_on_local_failure:
                raise AssertionError(f"a local delivery failed while waiting for {what}:\n"
                                     + "\n".join(failed))
            if time.monotonic() > deadline:
                tail = "\n".join(self.log().splitlines()[-40:])
                raise AssertionError(f"timed out waiting for {what}; Postfix log ends:\n{tail}")
            time.sleep(0.2)

    def log_count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log()))

    def submit(self, sender: str, recipients: list[str], data: bytes,
               mail_options: tuple[str, ...] = (), rcpt_options: tuple[str, ...] = ()) -> None:
        """Hand one message to the instance over SMTP, as any client would."""
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.example.test",
                          timeout=30) as client:
            refused = client.sendmail(sender, recipients, data, mail_options=list(mail_options),
                                      rcpt_options=list(rcpt_options))
        assert not refused, refused

    def mailbox(self, address: str) -> list[bytes]:
        """The messages delivered to a local mailbox (a maildir), oldest first."""
        local_part = address.partition("@")[0]
        new = self.root / "mail" / local_part / "new"
        if not new.is_dir():
            return []
        return [path.read_bytes() for path in sorted(new.iterdir())]

    def copies(self) -> list[bytes]:
        """What Postfix piped to the report alias, one entry per delivery, oldest first."""
        return [path.read_bytes() for path in sorted(self.copies_dir.iterdir())
                if not path.name.startswith(".")]

    def as_pipe_user(self, command: list[str], stdin: bytes | None = None,
                     check: bool = True) -> subprocess.CompletedProcess:
        """Run a command as the pipe user, in the listtrack instance, as cron or systemd would."""
        env = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "HOME": str(self.listtrack_dir), "LISTTRACK_INSTANCE": str(self.listtrack_dir)}
        done = subprocess.run(command, input=stdin, capture_output=True, env=env,
                              cwd=self.listtrack_dir, user=self.user.uid, group=self.user.gid,
                              extra_groups=[], timeout=300)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n"
                                 f"{done.stdout.decode(errors='replace')}"
                                 f"{done.stderr.decode(errors='replace')}")
        return done

    def listtrack(self, *arguments: str, stdin: bytes | None = None) -> str:
        return self.as_pipe_user([str(BIN / "listtrack"), *arguments], stdin=stdin) \
            .stdout.decode()


def split_local_delivery_prefix(piped: bytes) -> tuple[bytes, bytes]:
    """Split what local(8) piped into (what local(8) added in front, the queued message)."""
    position = 0
    if piped.startswith(b"From "):
        position = piped.index(b"\n") + 1
    for name in LOCAL_DELIVERY_HEADERS:
        line_end = piped.find(b"\n", position)
        if line_end < 0 or not piped[position:line_end + 1].lower().startswith(name):
            continue
        position = line_end + 1
    return piped[:position], piped[position:]


def _make_maps(instance: PostfixInstance, mailboxes: list[str], deferred: dict[str, str]) -> None:
    etc = instance.config_dir
    (etc / "vmailbox").write_text("".join(f"{address} {address.partition('@')[0]}/\n"
                                          for address in mailboxes))
    (etc / "transport").write_text("".join(f"{address} retry:{reply}\n"
                                           for address, reply in deferred.items()))
    for table in ("vmailbox", "transport"):
        run(["postmap", "-c", str(etc), f"hash:{etc / table}"])


def _write_aliases(instance: PostfixInstance, list_addresses: list[str]) -> None:
    """The aliases as the deployment guide writes them, plus a recorder on the report alias.

    The alias file belongs to the pipe user, so local(8) runs its pipes as that user.
    """
    recorder = instance.root / "record-copy"
    recorder.write_text('#!/bin/sh\n# Keep what Postfix piped, byte for byte.\n'
                        f'cd "{instance.copies_dir}" || exit 75\n'
                        'name=$(date +%s%N).$$\n'
                        'cat > ".$name" && mv ".$name" "$name"\n')
    recorder.chmod(0o755)
    ingest = BIN / "listtrack-ingest"
    lines = [f'{address.partition("@")[0]}: "|{ingest} post {address}"'
             for address in list_addresses]
    lines.append(f'bounce: "|{ingest} report", "|{recorder}"')
    aliases = instance.listtrack_dir / "aliases"
    aliases.write_text("\n".join(lines) + "\n")
    os.chown(aliases, instance.user.uid, instance.user.gid)
    instance.as_pipe_user(["postalias", "-c", str(instance.config_dir), f"hash:{aliases}"])


@contextlib.contextmanager
def postfix_instance(user: PipeUser, list_addresses: list[str], mailboxes: list[str],
                     deferred: dict[str, str]) -> Iterator[PostfixInstance]:
    """Build, start, yield, then stop and remove a private Postfix instance.

    `mailboxes` are the existing `example.test` maildirs; any other `example.test` address
    is accepted and then bounced by Postfix itself (5.1.1, in a DSN), as a remote system
    would; each `deferred` address gets that 4xx reply from the `retry` transport.
    """
    sweep_stale_instances()
    root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
    lock = (root / "in-use").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    root.chmod(0o755)
    instance = PostfixInstance(root=root, port=free_port(), user=user)
    try:
        for folder in ("etc", "queue", "data", "log", "mail", "copies", "listtrack"):
            (root / folder).mkdir()
        for folder in ("mail", "copies", "listtrack"):
            os.chown(root / folder, user.uid, user.gid)
        shutil.chown(root / "data", user="postfix")
        (instance.config_dir / "master.cf").write_text(
            MASTER_CF.format(port_service=f"127.0.0.1:{instance.port}"))
        (instance.config_dir / "main.cf").write_text("compatibility_level = 3.6\n")
        # As the guide has it: the system's aliases (root's) first, then listtrack's own.
        system_aliases = instance.config_dir / "aliases"
        aliases = f"hash:{system_aliases}, hash:{instance.listtrack_dir / 'aliases'}"
        instance.postconf(
            f"queue_directory = {root / 'queue'}",
            f"data_directory = {root / 'data'}",
            f"maillog_file_prefixes = {root / 'log'}",
            f"maillog_file = {instance.log_file}",
            f"myhostname = {HOSTNAME}",
            f"mydomain = {LIST_DOMAIN}",
            "myorigin = $mydomain",
            f"mydestination = {LIST_DOMAIN}, localhost",
            "inet_interfaces = loopback-only",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            "relayhost =",
            # Nothing leaves the machine: anything not local is refused by the error transport.
            "default_transport = error:5.7.1 this test instance sends nothing off the machine",
            "relay_transport = $default_transport",
            "recipient_delimiter = +",
            f"alias_maps = {aliases}",
            f"alias_database = {aliases}",
            f"virtual_mailbox_domains = {MAILBOX_DOMAIN}",
            f"virtual_mailbox_base = {root / 'mail'}",
            f"virtual_mailbox_maps = hash:{instance.config_dir / 'vmailbox'}",
            f"virtual_uid_maps = static:{user.uid}",
            f"virtual_gid_maps = static:{user.gid}",
            f"transport_maps = hash:{instance.config_dir / 'transport'}",
            # Accept unknown recipients and bounce them later, in a DSN, as a remote MX would.
            "smtpd_reject_unlisted_recipient = no",
            # Retry and warn at once, so a deferred copy yields its delay DSN in seconds.
            "queue_run_delay = 1s",
            "minimal_backoff_time = 1s",
            "maximal_backoff_time = 2s",
            "delay_warning_time = 1s",
            "biff = no",
        )
        # What the deployment guide tells an administrator: pass the instance to the pipes.
        default_import = run(["postconf", "-c", str(instance.config_dir), "-dh",
                              "import_environment"]).stdout.strip()
        instance.postconf(
            f"import_environment = {default_import} LISTTRACK_INSTANCE={instance.listtrack_dir}",
            "export_environment = TZ MAIL_CONFIG LANG LISTTRACK_INSTANCE",
        )
        _make_maps(instance, [*mailboxes, f"postmaster@{MAILBOX_DOMAIN}"], deferred)
        system_aliases.write_text(f"postmaster: postmaster@{MAILBOX_DOMAIN}\n")
        run(["postalias", "-c", str(instance.config_dir), f"hash:{system_aliases}"])
        _write_aliases(instance, list_addresses)
        instance.postfix("check")
        instance.postfix("start")
        instance.wait_for("Postfix to listen", lambda: _listening(instance.port), timeout=30)
        yield instance
    finally:
        instance.stop()
        lock.close()
        shutil.rmtree(root, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def sweep_stale_instances() -> None:
    """Stop and remove instances left by a run that was killed (nobody holds their lock)."""
    for stale in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        try:
            with (stale / "in-use").open("r") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, FileNotFoundError, NotADirectoryError):
            continue
        if (stale / "etc" / "main.cf").exists():
            subprocess.run([str(POSTFIX), "-c", str(stale / "etc"), "abort"],
                           capture_output=True)
        shutil.rmtree(stale, ignore_errors=True)


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw)

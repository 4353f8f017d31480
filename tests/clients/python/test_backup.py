"""`tessera backup` while the server takes writes, then `tessera restore` into a fresh data
directory: every user acknowledged before the backup began is there, the restored store opens
with its master key and refuses another, and damaged or misplaced restores are refused."""

from __future__ import annotations

import subprocess
import threading

from support import create_pool, unique
from tessera_server import TesseraServer, new_master_key


def list_usernames(idp, pool_id: str) -> set[str]:
    names: set[str] = set()
    kwargs: dict = {"UserPoolId": pool_id, "Limit": 60}
    while True:
        page = idp.list_users(**kwargs)
        names |= {u["Username"] for u in page["Users"]}
        if not page.get("PaginationToken"):
            return names
        kwargs["PaginationToken"] = page["PaginationToken"]


def restore(binary: str, backup, data_dir, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, "restore", "--data-dir", str(data_dir), str(backup)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def test_backup_under_load_restores_every_acknowledged_write(spawn, tmp_path):
    key = new_master_key()
    s = spawn(master_key=key)
    idp = s.client()
    pool_id = create_pool(idp)
    acked: list[str] = []
    stop = threading.Event()
    failures: list[Exception] = []

    def writer():
        # A second client: botocore clients are not shared across threads here.
        mine = s.client()
        while not stop.is_set():
            name = unique("bk")
            try:
                mine.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
            except Exception as e:  # noqa: BLE001 (reported below)
                failures.append(e)
                return
            acked.append(name)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(acked) < 40 and not failures:
            threading.Event().wait(0.05)
        before_backup = set(acked)
        backup = tmp_path / "tessera.backup"
        run = s.cli("backup", str(backup))
        assert run.returncode == 0, run.stderr
        # Writes went on during the backup.
        threading.Event().wait(0.3)
    finally:
        stop.set()
        thread.join()
    assert not failures, failures
    assert len(acked) > len(before_backup)

    # A backup never overwrites.
    again = s.cli("backup", str(backup))
    assert again.returncode != 0 and "exists" in again.stderr

    env = s._env()
    fresh = tmp_path / "restored"
    run = restore(s.binary, backup, fresh, env)
    assert run.returncode == 0, run.stderr
    assert "opens with this master key" in run.stderr
    restored = TesseraServer(fresh, master_key=key).start()
    try:
        names = list_usernames(restored.client(), pool_id)
        assert before_backup <= names, f"lost {len(before_backup - names)} acknowledged users"
        assert names <= set(acked)
    finally:
        restored.stop()

    # Not over an existing store.
    over = restore(s.binary, backup, fresh, env)
    assert over.returncode != 0 and "exists" in over.stderr

    # Not without the master key the secrets are sealed with, and not with another one.
    no_key = {k: v for k, v in env.items() if k != "TESSERA_MASTER_KEY"}
    keyless = restore(s.binary, backup, tmp_path / "keyless", no_key)
    assert keyless.returncode != 0 and "master.key" in keyless.stderr
    wrong = restore(s.binary, backup, tmp_path / "wrong", {**env, "TESSERA_MASTER_KEY": new_master_key()})
    assert wrong.returncode != 0 and "master key doesn't match" in wrong.stderr

    # A damaged backup is refused before anything is put in place.
    damaged = tmp_path / "damaged.backup"
    data = backup.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    broken = restore(s.binary, damaged, tmp_path / "broken", env)
    assert broken.returncode != 0
    assert not (tmp_path / "broken" / "tessera.db").exists()

"""Key files are created once: racing creators all end up with the first key, whole and private."""

import threading

from shuzhi.exchange.keys import mask_master_key
from shuzhi.keyfile import create_once


def test_racing_creators_keep_the_first_file(tmp_path):
    path = tmp_path / "keys" / "k"
    start = threading.Barrier(8)

    def create(i):
        start.wait()
        create_once(path, f"key-{i}".encode() * 1000)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    data = path.read_bytes()
    assert data in {f"key-{i}".encode() * 1000 for i in range(8)}
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["k"]  # no temporary file left
    create_once(path, b"later")
    assert path.read_bytes() == data


def test_mask_key_is_one_key_for_callers_at_once(settings):
    start = threading.Barrier(6)
    keys = []

    def read():
        start.wait()
        keys.append(mask_master_key(settings))

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 6 and len(set(keys)) == 1

"""The trainer's control/ folder against hostile entries: a FIFO or a folder named *.json never blocks the
Save Checkpoint Now requests after it, and a huge request file is removed unread. The real polling thread
runs (Control.install), as in a run."""

import json
import os
import signal

import pytest

from rlhf_trainer.control import CONTROL_DIR, MAX_REQUEST_BYTES, Control


@pytest.fixture
def control(tmp_path):
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    c = Control()
    c.install(read_stdin=False, run_dir=tmp_path)
    yield c
    c.close()
    for s, h in handlers.items():
        signal.signal(s, h)


def _request(folder, name, msg):
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(msg))
    os.replace(tmp, folder / name)


def test_fifo_and_folder_named_json_never_block_later_save_requests(tmp_path, control, capfd):
    folder = tmp_path / CONTROL_DIR
    os.mkfifo(folder / "a-fifo.json")  # nobody ever writes it: a blocking open would hang the poll for good
    (folder / "b-folder.json").mkdir()
    (folder / "c-link.json").symlink_to("/dev/zero")
    for k in range(2):  # each request is applied, not just the first
        _request(folder, f"z-save-{k}.json", {"type": "save"})
        assert control.save.wait(60), f"request {k} was never applied"
        control.save.clear()
        assert not (folder / f"z-save-{k}.json").exists()
    err = capfd.readouterr().err
    for name in ("a-fifo.json", "b-folder.json", "c-link.json"):
        assert err.count(f"{name}: not a regular file") == 1, err  # once each, not every poll
        assert (folder / name).exists() or (folder / name).is_symlink()  # skipped, not touched


def test_a_300_mb_request_file_is_removed_unread_with_a_warning(tmp_path, control, capfd):
    folder = tmp_path / CONTROL_DIR
    big = folder / "a-big.json"
    with open(big, "wb") as f:  # sparse: 300 MB long without using the disk
        f.truncate(300 * 2**20)
    _request(folder, "b-save.json", {"type": "save"})
    assert control.save.wait(60)
    assert not big.exists()
    err = capfd.readouterr().err
    assert f"{300 * 2**20} bytes, over the {MAX_REQUEST_BYTES}-byte limit of a request; removed unread" in err, err


"""Faults during `recur train`: killed while checkpointing, interrupted with Ctrl-C, a full disk,
a read-only folder. The model file on disk is always a whole, loadable checkpoint, and a good
file is never replaced by a bad one."""
import contextlib
import hashlib
import math
import os
import random
import resource
import signal
import subprocess
import tempfile
import time

import pytest

from recur_safetensors import load


def write_data(path, sequences=8, steps=30):
    with open(path, "w") as f:
        f.write("id,u,w\n")
        for s in range(sequences):
            for t in range(steps):
                f.write(f"s{s},{math.sin(0.3 * t + s):.6f},{math.cos(0.2 * t + s):.6f}\n")


def flags(folder, save, epochs, hidden=8, **extra):
    out = ["--data", folder / "d.csv", "--input-columns", "u", "--target-columns", "w",
           "--sequence-column", "id", "--hidden", hidden, "--epochs", epochs, "--batch-size", 2,
           "--lr", "0.02", "--optimizer", "adam", "--seed", "5", "--save", save]
    for key, value in extra.items():
        out += ["--" + key.replace("_", "-"), value]
    return [str(v) for v in out]


def tensor_digest(path):
    """A checksum of the model's tensors (not of the metadata, which names the run)."""
    tensors, metadata = load(path)
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].numpy().tobytes())
    return digest.hexdigest(), metadata


def test_sigkill_while_checkpointing_leaves_a_whole_checkpoint(tmp_path, run, recur_bin):
    """A large model saved after every short epoch, so that most of a run is spent writing;
    killed at random moments, the file is always the checkpoint of some epoch k, equal to the
    model of a run of k epochs, and --resume then finishes the run."""
    write_data(tmp_path / "d.csv", sequences=2, steps=6)
    epochs, hidden = 6, 384  # a float32 model of about 600 KB
    reference = {}
    for k in range(1, epochs + 1):
        save = tmp_path / f"ref{k}.safetensors"
        result = run("train", *flags(tmp_path, save, k, hidden))
        assert result.returncode == 0, result.stderr
        reference[k] = tensor_digest(save)[0]
        save.unlink()
    started = time.monotonic()  # how long a whole run takes here, checkpoints included
    result = run("train", *flags(tmp_path, tmp_path / "timed.safetensors", epochs, hidden,
                                 checkpoint_every=1))
    assert result.returncode == 0, result.stderr
    duration = time.monotonic() - started
    model = tmp_path / "m.safetensors"
    rng = random.Random(1)
    seen = set()
    for trial in range(16):
        args = flags(tmp_path, model, epochs, hidden, checkpoint_every=1)
        if model.exists():
            args += ["--resume", str(model)]
        process = subprocess.Popen([recur_bin, "train", *args], stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, duration))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if not model.exists():
            seen.add(0)
            continue
        digest, metadata = tensor_digest(model)
        done = int(metadata["epochs_done"])
        seen.add(done)
        assert digest == reference[done], (trial, done)
        info = run("info", model)
        assert info.returncode == 0, info.stderr
        if done == epochs:
            model.unlink()  # start over: more kills land in the middle
    assert len(seen) >= 3, seen  # the kills landed at different points of the run
    # Whatever the kills left, --resume finishes the run with the uninterrupted model.
    for _ in range(2):
        args = flags(tmp_path, model, epochs, hidden, checkpoint_every=1)
        if model.exists():
            args += ["--resume", str(model)]
        result = run("train", *args)
        assert result.returncode == 0, result.stderr
    assert tensor_digest(model)[0] == reference[epochs]


def wait_for_lines(path, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= count:
            return
        time.sleep(0.005)
    raise AssertionError(f"{path}: fewer than {count} lines after {timeout} s")


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.11])
def test_ctrl_c_saves_a_checkpoint_that_resumes_exactly(tmp_path, run, recur_bin, delay):
    """SIGINT during training: exit 130 with a checkpoint of where it stopped (inside an epoch
    or between two), from which --resume reaches the parameters of a run never stopped."""
    write_data(tmp_path / "d.csv", sequences=200, steps=30)  # 100 batches an epoch
    epochs = 200
    whole = run("train", *flags(tmp_path, tmp_path / "whole.safetensors", epochs, dropout=0,
                                layers=2))
    assert whole.returncode == 0, whole.stderr
    model, log = tmp_path / "m.safetensors", tmp_path / "log.jsonl"
    args = flags(tmp_path, model, epochs, dropout=0, layers=2)
    process = subprocess.Popen([recur_bin, "train", *args, "--log", str(log)],
                               stderr=subprocess.PIPE, text=True)
    wait_for_lines(log, 1)  # training is under way
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "recur: interrupted " in stderr and f"--resume {model}" in stderr
    _, metadata = tensor_digest(model)
    assert 1 <= int(metadata["epochs_done"]) < epochs
    resumed = run("train", *args, "--resume", model)
    assert resumed.returncode == 0, resumed.stderr
    assert tensor_digest(model)[0] == tensor_digest(tmp_path / "whole.safetensors")[0]


def set_file_size_limit(limit):
    def limit_writes():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
    return limit_writes


def refuses_to_save(tmp_path, recur_bin, folder, preexec_fn=None):
    """Trains into folder/m.safetensors, which holds a good model; the save must fail, say
    why, and leave that model as it was, with no temporary file behind."""
    model = folder / "m.safetensors"
    before = model.read_bytes()
    listing = sorted(os.listdir(folder))
    result = subprocess.run([recur_bin, "train", *flags(tmp_path, model, 2, hidden=64)],
                            capture_output=True, text=True, timeout=120, preexec_fn=preexec_fn)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"recur: error: {model}: ")
    assert model.read_bytes() == before
    assert sorted(os.listdir(folder)) == listing
    return result.stderr


def test_a_write_that_fails_keeps_the_old_file(tmp_path, run, recur_bin):
    write_data(tmp_path / "d.csv")
    assert run("train", *flags(tmp_path, tmp_path / "m.safetensors", 1, hidden=64)).returncode == 0
    stderr = refuses_to_save(tmp_path, recur_bin, tmp_path, set_file_size_limit(4096))
    assert "write failed: File too large; the old file, if any, is unchanged" in stderr


@contextlib.contextmanager
def small_filesystem(size):
    """A tmpfs of `size` bytes (root only); skips where mounting is not allowed."""
    folder = tempfile.mkdtemp()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", folder],
                             capture_output=True).returncode == 0
    if not mounted:
        os.rmdir(folder)
        pytest.skip("cannot mount a tmpfs here (not root, or no permission)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", folder], check=True)
        os.rmdir(folder)


def test_a_full_disk_keeps_the_old_file(tmp_path, run, recur_bin):
    write_data(tmp_path / "d.csv")
    with small_filesystem(64 * 1024) as mount:
        folder = tmp_path.__class__(mount)
        result = run("train", *flags(tmp_path, folder / "m.safetensors", 1, hidden=32))
        assert result.returncode == 0, result.stderr
        # Fill the disk, then save a larger model over the good one.
        fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        os.close(fd)
        stderr = refuses_to_save(tmp_path, recur_bin, folder)
        assert "No space left on device; the old file, if any, is unchanged" in stderr


def test_a_read_only_folder_keeps_the_old_file(tmp_path, run, recur_bin):
    write_data(tmp_path / "d.csv")
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        assert run("train", *flags(tmp_path, folder / "m.safetensors", 1, hidden=64)).returncode == 0
        folder.chmod(0o555)
        try:
            stderr = refuses_to_save(tmp_path, recur_bin, folder)
        finally:
            folder.chmod(0o755)
        assert "cannot create a temporary file beside it: Permission denied" in stderr
        return
    with small_filesystem(1 << 20) as mount:  # root may write anywhere: a read-only mount
        folder = tmp_path.__class__(mount)
        assert run("train", *flags(tmp_path, folder / "m.safetensors", 1, hidden=64)).returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", mount], check=True)
        stderr = refuses_to_save(tmp_path, recur_bin, folder)
        assert "cannot create a temporary file beside it: Read-only file system" in stderr

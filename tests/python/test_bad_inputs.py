"""The catalogue of bad inputs: for each broken file or flag, what `recur` answers. Every case
must exit with its status (1: a bad file, 2: bad usage), print one `recur: error:` line that
holds the expected words, and write nothing. Add a row here with every new loader or check."""
import json
import os
import struct

import pytest

GOOD_CSV = "id,u,w\n" + "".join(f"s{s},{0.1 * t + s},{0.2 * t}\n" for s in range(2)
                                for t in range(5))


def safetensors(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def tensor(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


@pytest.fixture(scope="module")
def good_model(tmp_path_factory, recur_bin):
    """A small trained model: its header (with metadata) and its data bytes."""
    import subprocess
    folder = tmp_path_factory.mktemp("good")
    (folder / "d.csv").write_text(GOOD_CSV)
    model = folder / "m.safetensors"
    subprocess.run([recur_bin, "train", "--data", folder / "d.csv", "--input-columns", "u",
                    "--target-columns", "w", "--sequence-column", "id", "--hidden", "3",
                    "--epochs", "1", "--save", model], check=True, capture_output=True)
    raw = model.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def model_with(good, change):
    """The good model's bytes after change(header, data) -> (header, data)."""
    header, data = json.loads(json.dumps(good[0])), good[1]
    header, data = change(header, data)
    return safetensors(header, data)


def set_metadata(**values):
    def change(header, data):
        for key, value in values.items():
            if value is None:
                header["__metadata__"].pop(key, None)
            else:
                header["__metadata__"][key] = value
        return header, data
    return change


def first_value_nan(header, data):
    begin = header["readout.bias"]["data_offsets"][0]
    return header, data[:begin] + struct.pack("<f", float("nan")) + data[begin + 4:]


def huge_shape(header, data):
    header["readout.bias"]["shape"] = [2 ** 40, 2 ** 40]
    return header, data


def past_the_data(header, data):
    header["readout.bias"]["data_offsets"] = [2 ** 40, 2 ** 40 + 4]
    return header, data


def overlapping(header, data):
    begin, end = header["readout.weight"]["data_offsets"]
    header["readout.weight"]["data_offsets"] = [begin - 4, end - 4]
    return header, data


def wrong_shape(header, data):
    header["rnn.bias_hh_l0"]["shape"] = [1, 3]
    return header, data


def unknown_dtype(header, data):
    header["readout.bias"]["dtype"] = "F128"
    return header, data


def without(name):
    def change(header, data):
        begin, end = header[name]["data_offsets"]
        del header[name]
        for entry in header.values():
            if "data_offsets" in entry and entry["data_offsets"][0] >= end:
                entry["data_offsets"] = [o - (end - begin) for o in entry["data_offsets"]]
        return header, data[:begin] + data[end:]
    return change


# (id, files: name -> text or bytes or a function of the good model, command line with {tmp}
# for the folder, exit status, words of the error)
CASES = [
    # CSV data
    ("csv-empty", {"d.csv": ""}, "train-csv", 1, "d.csv: the file is empty; expected a header row"),
    ("csv-header-only", {"d.csv": "id,u,w\n"}, "train-csv", 1, "d.csv: no data rows"),
    ("csv-ragged", {"d.csv": "id,u,w\ns0,1,2\ns0,1\n"}, "train-csv", 1,
     "d.csv:3: 2 columns, expected 3 as in the header"),
    ("csv-open-quote", {"d.csv": 'id,u,w\ns0,"1,2\n'}, "train-csv", 1,
     "d.csv:2: a quoted field is not closed"),
    ("csv-not-a-number", {"d.csv": "id,u,w\ns0,1,2\ns0,x,2\n"}, "train-csv", 1,
     'd.csv:3: column 2 ("u"): "x" is not a number'),
    ("csv-infinite", {"d.csv": "id,u,w\ns0,1,2\ns0,inf,2\n"}, "train-csv", 1,
     'd.csv:3: column 2 ("u"): inf is not a finite number'),
    ("csv-out-of-range", {"d.csv": "id,u,w\ns0,1,2\ns0,1e999,2\n"}, "train-csv", 1,
     "1e999 is outside the range of a double"),
    ("csv-repeated-column", {"d.csv": "id,u,u\ns0,1,2\n"}, "train-csv", 1,
     'd.csv:1: column 3 repeats the name "u"'),
    ("csv-missing-column", {"d.csv": "id,u,v\ns0,1,2\n"}, "train-csv", 1,
     'd.csv: no column named "w"'),
    ("csv-one-row-sequence", {"d.csv": "id,u,w\ns0,1,2\ns0,1,2\ns1,1,2\n"}, "train-csv", 1,
     'd.csv:4: sequence "s1" has 1 row'),
    ("csv-line-over-limit", {"d.csv": "id,u,w\ns0,1," + "2" * 200 + "\n"},
     "train-csv --max-line-length 100", 1,
     "d.csv:2: a line longer than the max-line-length limit of 100 bytes"),
    ("csv-file-over-limit", {"d.csv": GOOD_CSV * 20}, "train-csv --max-file-size 1K", 1,
     "bytes, over the max-file-size limit of 1024"),
    ("csv-missing-file", {}, "train-csv", 1, "d.csv: cannot open: No such file or directory"),
    ("csv-a-folder", {"d.csv/x": ""}, "train-csv", 1, "d.csv: not a regular file"),
    ("predict-csv-ragged", {"d.csv": "id,u\ns0,1\ns0\n", "m.safetensors": lambda g: model_with(
        g, lambda h, d: (h, d))}, "predict", 1, "d.csv:3: 1 columns, expected 2"),
    # text for character models
    ("text-not-utf8", {"t.txt": b"ab\xffcd"}, "train-text", 1,
     "t.txt:1:3: byte 0xFF cannot start a character; expected UTF-8 text"),
    ("text-overlong", {"t.txt": b"ab\xe0\x80\xafcd"}, "train-text", 1, "overlong encoding"),
    ("text-cut-short", {"t.txt": b"ab\xe2\x82"}, "train-text", 1,
     "starts a character that the file cuts short"),
    ("text-surrogate", {"t.txt": b"ab\xed\xa0\x80"}, "train-text", 1, "encodes a surrogate"),
    ("text-too-short", {"t.txt": "a"}, "train-text", 1, "fewer than 2 characters"),
    ("text-one-symbol", {"t.txt": "aaaa"}, "train-text", 1,
     "1 distinct character(s); a character model needs at least 2"),
    ("text-vocabulary-over-limit", {"t.txt": "abcdefghijkl"}, "train-text --max-vocabulary 10",
     1, "12 distinct characters, more than the max-vocabulary limit of 10"),
    ("text-a-million-symbols",
     {"t.txt": "".join(chr(c) for c in range(0x20, 0x20 + 1_100_000)
                       if not 0xD800 <= c <= 0xDFFF)[:1_000_000]},
     "train-text", 1, "1000000 distinct characters, more than the max-vocabulary limit of 65536"),
    # model files
    ("model-short", {"m.safetensors": b"\x01\x02\x03"}, "info", 1,
     "3 bytes, too short for the 8-byte header length"),
    ("model-header-past-end", {"m.safetensors": struct.pack("<Q", 1 << 40) + b"{}"}, "info", 1,
     "header length 1099511627776 runs past the end of the file (10 bytes)"),
    ("model-header-not-json", {"m.safetensors": struct.pack("<Q", 4) + b"{x:1"}, "info", 1,
     "header is not valid JSON"),
    ("model-header-not-object", {"m.safetensors": safetensors([1, 2])}, "info", 1,
     "header is not a JSON object"),
    ("model-huge-tensor", {"m.safetensors": lambda g: model_with(g, huge_shape)}, "predict", 1,
     'tensor "readout.bias" has a shape too large to hold'),
    ("model-data-past-end", {"m.safetensors": lambda g: model_with(g, past_the_data)}, "predict",
     1, 'tensor "readout.bias" has data_offsets [1099511627776, 1099511627780] outside the'),
    ("model-overlap", {"m.safetensors": lambda g: model_with(g, overlapping)}, "predict", 1,
     "overlaps tensor"),
    ("model-stray-bytes", {"m.safetensors": lambda g: model_with(g, lambda h, d: (h, d + b"!"))},
     "predict", 1, "belong to no tensor"),
    ("model-unknown-dtype", {"m.safetensors": lambda g: model_with(g, unknown_dtype)}, "predict",
     1, 'tensor "readout.bias" has unknown dtype "F128"'),
    ("model-missing-tensor", {"m.safetensors": lambda g: model_with(g, without("readout.bias"))},
     "predict", 1, 'missing tensor "readout.bias"'),
    ("model-wrong-shape", {"m.safetensors": lambda g: model_with(g, wrong_shape)}, "predict", 1,
     'tensor "rnn.bias_hh_l0" has shape [1, 3], expected [3]'),
    ("model-nan", {"m.safetensors": lambda g: model_with(g, first_value_nan)}, "predict", 1,
     'tensor "readout.bias" holds nan at index 0; a model\'s values must be finite'),
    ("model-metadata-hidden", {"m.safetensors": lambda g: model_with(
        g, set_metadata(hidden_size="4"))}, "predict", 1, "rnn.weight_hh_l0"),
    ("model-metadata-cell", {"m.safetensors": lambda g: model_with(g, set_metadata(cell="tcn"))},
     "predict", 1, 'cell "tcn" is not supported; expected elman, lstm or gru'),
    ("model-metadata-no-loss", {"m.safetensors": lambda g: model_with(
        g, set_metadata(loss=None))}, "predict", 1, 'metadata has no "loss"'),
    ("model-metadata-normalization", {"m.safetensors": lambda g: model_with(
        g, set_metadata(normalization="{"))}, "predict", 1, "malformed metadata"),
    ("model-metadata-bad-std", {"m.safetensors": lambda g: model_with(
        g, set_metadata(normalization=json.dumps({"input_mean": [0], "input_std": [0],
                                                  "target_mean": [0], "target_std": [1]})))},
     "predict", 1, "a normalisation standard deviation is not a positive number"),
    ("model-metadata-vocabulary", {"m.safetensors": lambda g: model_with(
        g, set_metadata(data="text", loss="cross-entropy", vocabulary="[97, 55296]"))},
     "generate", 1, "vocabulary symbol 55296 is not a character"),
    # found by fuzz_metadata (tests/fuzz/corpus/metadata/crash-vocabulary-out-of-range):
    # nlohmann's conversion of 1e29 to a 32-bit symbol was undefined behaviour
    ("model-metadata-vocabulary-float", {"m.safetensors": lambda g: model_with(
        g, set_metadata(data="text", loss="cross-entropy", vocabulary="[97, 1e29]"))},
     "generate", 1, "metadata vocabulary holds 1e+29, expected code points (0 to 1114111)"),
    ("model-over-limit", {"m.safetensors": lambda g: model_with(g, lambda h, d: (h, d))},
     "info --max-file-size 100", 1, "over the max-file-size limit of 100"),
    ("model-missing", {}, "info", 1, "m.safetensors: cannot open: No such file or directory"),
    ("model-a-folder", {"m.safetensors/x": ""}, "info", 1, "m.safetensors: not a regular file"),
    # checkpoints
    ("resume-not-a-checkpoint", {"d.csv": GOOD_CSV, "m.safetensors": lambda g: model_with(
        g, set_metadata(train_run=None))}, "train-csv --resume {tmp}/m.safetensors", 2,
     "is not a checkpoint of `recur train`"),
    ("resume-bad-position", {"d.csv": GOOD_CSV, "m.safetensors": lambda g: model_with(
        g, set_metadata(epochs_done="0", epoch_position='{"epoch": -5}'))},
     "train-csv --resume {tmp}/m.safetensors", 1,
     'metadata epoch_position has its "epoch" count missing or out of range'),
    ("resume-position-not-json", {"d.csv": GOOD_CSV, "m.safetensors": lambda g: model_with(
        g, set_metadata(epochs_done="0", epoch_position="[1e999"))},
     "train-csv --resume {tmp}/m.safetensors", 1, "metadata epoch_position is not valid JSON"),
    ("resume-bad-epochs-done", {"d.csv": GOOD_CSV, "m.safetensors": lambda g: model_with(
        g, set_metadata(epochs_done="-1"))}, "train-csv --resume {tmp}/m.safetensors", 1,
     'metadata epochs_done is "-1"'),
    # flags
    ("flag-max-file-size", {"d.csv": GOOD_CSV}, "train-csv --max-file-size 0", 2,
     "--max-file-size: expected a positive size in bytes, optionally with K, M or G, got '0'"),
    ("flag-max-line-length", {"d.csv": GOOD_CSV}, "train-csv --max-line-length 12Q", 2,
     "--max-line-length: expected a positive size"),
    ("flag-max-vocabulary", {"t.txt": "abc"}, "train-text --max-vocabulary 99999999999", 2,
     "--max-vocabulary: expected a positive integer no larger than 2147483647"),
    ("flag-layers", {"d.csv": GOOD_CSV}, "train-csv --layers 0", 2,
     "--layers: expected a positive integer"),
    ("flag-batch-size", {"d.csv": GOOD_CSV}, "train-csv --batch-size 99999999999", 2,
     "--batch-size: expected a positive integer no larger than 2147483647"),
    ("flag-lr", {"d.csv": GOOD_CSV}, "train-csv --lr nan", 2, "--lr"),
    ("flag-unknown", {"d.csv": GOOD_CSV}, "train-csv --hiden 3", 2, "--hiden"),
    ("command-unknown", {}, "tarin", 2, "unknown command 'tarin'"),
]

COMMANDS = {
    "train-csv": "train --data {tmp}/d.csv --input-columns u --target-columns w "
                 "--sequence-column id --hidden 3 --epochs 1 --save {tmp}/out.safetensors",
    "train-text": "train --text {tmp}/t.txt --hidden 2 --epochs 1 --save {tmp}/out.safetensors",
    "predict": "predict --model {tmp}/m.safetensors --data {tmp}/d.csv "
               "--output {tmp}/out.csv",
    "generate": "generate --model {tmp}/m.safetensors --length 5 --output {tmp}/out.txt",
    "info": "info {tmp}/m.safetensors",
}


@pytest.mark.parametrize("files,command,status,words", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, run, good_model, files, command, status, words):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content = content(good_model)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    if "d.csv" not in files and command.split()[0] == "predict":
        (tmp_path / "d.csv").write_text(GOOD_CSV)
    head, *rest = command.split(" ", 1)
    line = (COMMANDS.get(head, head) + (" " + rest[0] if rest else "")).format(tmp=tmp_path)
    before = sorted(os.listdir(tmp_path))
    result = run(*line.split())
    assert result.returncode == status, result.stderr
    last = result.stderr.splitlines()[-1] if result.stderr else ""
    assert last.startswith("recur: error: "), result.stderr
    assert words in last, result.stderr
    assert sorted(os.listdir(tmp_path)) == before  # nothing written
    assert result.stdout == ""


def peak_memory_kib(args):
    """The exit status, stderr and peak resident memory of `args` run as a child."""
    import subprocess
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    return os.waitstatus_to_exitcode(status), process.stderr.read(), usage.ru_maxrss


def test_a_line_of_a_gigabyte_is_refused_without_holding_it(tmp_path, recur_bin):
    """A 1 GiB CSV line (a sparse file): refused at the line cap, reading only that much."""
    data = tmp_path / "d.csv"
    with open(data, "wb") as f:
        f.write(b"id,u,w\n")
        f.truncate(1 << 30)
    train = [recur_bin, "train", "--input-columns", "u", "--target-columns", "w",
             "--save", tmp_path / "m.safetensors", "--data"]
    status, stderr, peak = peak_memory_kib(train + [data])
    assert status == 1, stderr
    assert "d.csv:2: a line longer than the max-line-length limit of 16777216 bytes" in stderr
    # Linux carries the parent's resident size into a child's peak across exec: compare with
    # the same program refusing a missing file.
    _, _, baseline = peak_memory_kib(train + [tmp_path / "missing.csv"])
    if os.environ.get("RECUR_SANITIZED") != "1":  # ASan's shadow and quarantine add hundreds
        assert peak - baseline < 100 * 1024, (peak, baseline)  # KiB: far below the gigabyte

"""CSV reading and writing: round trips, the reference per-row parser, every bad-input kind."""
from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fer_kit.data import _cache, io
from fer_kit.data._csvparse import FERDataError, parse_bytes, parse_pixel_block
from fer_kit.data._csvwrite import format_pixels


def _images(rng, n):
    return rng.integers(0, 256, (n, 48, 48, 1), dtype=np.uint8)


def _row(values) -> str:
    return " ".join(str(v) for v in values)


def _fer_text(rows) -> str:
    return "emotion,pixels,Usage\n" + "".join(f"{lab},{px},{use}\n" for lab, px, use in rows)


GOOD = _row([7] * 2304)


def test_pixel_parser_matches_per_row_reference(rng):
    x = rng.integers(0, 256, (50, 2304))
    x[0, :5] = [0, 255, 9, 10, 100]  # every digit length
    fields = [_row(r).encode() for r in x]
    ours, errors = parse_pixel_block(fields)
    reference = np.array([np.array(f.split(), float) for f in fields])  # the usual per-row way
    assert errors == {}
    np.testing.assert_array_equal(ours, reference.astype(np.uint8))


def test_pixel_parser_reads_padded_numbers_and_row_edges():
    row = [255] + [7] * 2302 + [100]  # three digits at both ends of the row
    padded = ("0042 007 " + _row(row[2:])).encode()  # leading zeros: 42 and 7
    pixels, errors = parse_pixel_block([_row(row).encode(), padded, b"1000 " + padded[5:]])
    assert errors == {2: "pixel 1: value 1000 outside 0-255"}
    assert pixels[0].tolist() == row
    assert pixels[1].tolist() == [42, 7] + row[2:]
    assert not pixels[2].any()  # a bad row is left zero


def test_rows_and_lines_stay_aligned_across_blocks(tmp_path, rng, monkeypatch):
    from fer_kit.data import _csvparse as csvparse
    monkeypatch.setattr(csvparse, "_BLOCK_ROWS", 4)  # 23 rows: six blocks, the last one short
    x = _images(rng, 23)
    rows = [(i % 7, _row(x[i].ravel()), "Training") for i in range(23)]
    for i in (0, 5, 8, 22):  # first row, inside a block, first of a block, last row
        rows[i] = (rows[i][0], rows[i][1] + " 1", "Training")
    path = tmp_path / "f.csv"
    path.write_text(_fer_text(rows))
    p = io.read_csv(path, on_error="skip", cache=False)
    assert p.skipped["line"].tolist() == [2, 7, 10, 24]
    assert p.skipped["reason"].str.contains("found 2305").all()
    keep = [i for i in range(23) if i not in (0, 5, 8, 22)]
    np.testing.assert_array_equal(p.x, x[keep])
    assert p.lines.tolist() == [i + 2 for i in keep] and p.y.tolist() == [i % 7 for i in keep]


def test_format_pixels_matches_str_join(rng):
    x = _images(rng, 5)
    assert format_pixels(x) == [_row(r.ravel()).encode() for r in x]


@pytest.mark.parametrize("layout", ["fer2013", "train", "test"])
def test_round_trip_each_layout(tmp_path, rng, layout):
    x, y = _images(rng, 30), rng.integers(0, 7, 30)
    if layout == "fer2013":
        usage = np.repeat([0, 1, 2], 10)
        io.write_fer2013(tmp_path / "f.csv", x, y, usage)
        ds = io.read_fer2013(tmp_path / "f.csv")
        np.testing.assert_array_equal(np.concatenate([ds.train.x, ds.public.x, ds.private.x]), x)
        np.testing.assert_array_equal(np.concatenate([ds.train.y, ds.public.y, ds.private.y]), y)
        assert (len(ds.train), len(ds.public), len(ds.private)) == (10, 10, 10)
    elif layout == "train":
        io.write_train_csv(tmp_path / "train.csv", x, y)
        ds = io.read_train_test(tmp_path)
        np.testing.assert_array_equal(ds.train.x, x)
        np.testing.assert_array_equal(ds.train.y, y)
        assert ds.test is None
    else:
        io.write_train_csv(tmp_path / "train.csv", x[:3], y[:3])
        ids = rng.permutation(1000)[:30]
        io.write_test_csv(tmp_path / "test.csv", x, ids)
        ds = io.read_train_test(tmp_path)
        np.testing.assert_array_equal(ds.test.x, x)
        np.testing.assert_array_equal(ds.test.ids, ids)
        assert ds.test.y is None


def test_fer2013_usage_in_any_order(tmp_path, rng):
    x, y = _images(rng, 9), rng.integers(0, 7, 9)
    usage = np.array([2, 0, 1, 0, 0, 2, 1, 0, 2])  # interleaved, not Kaggle's one run each
    io.write_fer2013(tmp_path / "f.csv", x, y, usage)
    ds = io.read_fer2013(tmp_path / "f.csv")
    for k, split in enumerate([ds.train, ds.public, ds.private]):
        np.testing.assert_array_equal(split.x, x[usage == k])
        np.testing.assert_array_equal(split.ids, np.flatnonzero(usage == k))


def test_kaggle_header_variants_and_quotes():
    text = ('Emotion, Pixels ,usage\r\n3,"' + GOOD + '",Training\r\n')
    p = parse_bytes(b"\xef\xbb\xbf" + text.encode())  # BOM + CRLF + quoted pixel field
    assert p.layout == "fer2013" and p.x.shape == (1, 48, 48, 1) and p.y.tolist() == [3]
    assert len(p.skipped) == 0


def _parse_error(tmp_path, text: str | bytes, name="bad.csv") -> FERDataError:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(FERDataError) as info:
        io.read_csv(path)
    assert name in str(info.value)  # the message names the file
    return info.value


@pytest.mark.parametrize("text, line, words", [
    ("3," + GOOD + ",Training\n", 1, "missing header"),
    ("emotion;pixels;usage\n", 1, "unknown header"),
    ("foo,bar\n", 1, "unknown header"),
    (_fer_text([(3, GOOD, "Training"), (3, _row([1] * 2303), "Training")]), 3,
     "expected 2304 pixel values, found 2303"),
    (_fer_text([(3, GOOD.replace("7", "7.5", 1), "Training")]), 2, "non-integer token '7.5'"),
    (_fer_text([(3, GOOD.replace("7", "abc", 1), "Training")]), 2, "non-integer token 'abc'"),
    (_fer_text([(3, "7 7 300" + GOOD[5:], "Training")]), 2, "pixel 3: value 300 outside 0-255"),
    (_fer_text([(3, "-5" + GOOD[1:], "Training")]), 2, "value -5 outside 0-255"),
    (_fer_text([(3, "99999999999" + GOOD[1:], "Training")]), 2, "outside 0-255"),
    (_fer_text([(9, GOOD, "Training")]), 2, "label 9 outside 0-6"),
    (_fer_text([(-1, GOOD, "Training")]), 2, "label -1 outside 0-6"),
    (_fer_text([("x", GOOD, "Training")]), 2, "label 'x' is not an integer"),
    (_fer_text([(3, GOOD, "Validation")]), 2, "Usage 'Validation'"),
    (_fer_text([(3, GOOD, "Training,extra")]), 2, "expected 3 fields"),
    (_fer_text([(3, "", "Training")]), 2, "found 0 (empty pixel field)"),
    (_fer_text([(3, GOOD.replace(" ", ",", 5), "Training")]), 2, "expected 3 fields"),
    ("id,feature\n1," + GOOD + "\n2," + GOOD + "\n1," + GOOD + "\n", 4,
     "duplicate id 1 (first on line 2)"),
])
def test_bad_input_names_file_line_and_problem(tmp_path, text, line, words):
    err = _parse_error(tmp_path, text)
    assert err.line == line
    assert words in str(err)
    assert f"line {line}" in str(err)


def test_empty_file(tmp_path):
    assert "empty file" in str(_parse_error(tmp_path, ""))
    assert "empty file" in str(_parse_error(tmp_path, "\n\n", name="blank.csv"))


def test_truncated_last_line(tmp_path):
    text = _fer_text([(3, GOOD, "Training")]) + "4," + GOOD[:1000]  # download cut short
    err = _parse_error(tmp_path, text)
    assert err.line == 3 and "truncated last line" in str(err)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FERDataError, match="nope.csv: no such file"):
        io.read_csv(tmp_path / "nope.csv")


def test_skip_keeps_good_rows_and_reports_every_bad_one(tmp_path):
    rows = [(3, GOOD, "Training"), (9, GOOD, "Training"), (2, GOOD, "PublicTest"),
            (1, _row([1] * 10), "Training"), (0, GOOD, "PrivateTest")]
    path = tmp_path / "f.csv"
    path.write_text(_fer_text(rows))
    with pytest.raises(FERDataError, match=r"line 3: label 9 .*and 1 more bad row"):
        io.read_fer2013(path)
    ds = io.read_fer2013(path, on_error="skip")
    assert (len(ds.train), len(ds.public), len(ds.private)) == (1, 1, 1)
    assert ds.skipped["line"].tolist() == [3, 5]
    assert ds.skipped["reason"].str.contains("label 9").iloc[0]
    assert ds.skipped["reason"].str.contains("found 10").iloc[1]
    assert (ds.skipped["file"] == str(path)).all()


def test_second_read_comes_from_cache(tmp_path, rng, monkeypatch):
    path = tmp_path / "f.csv"
    io.write_fer2013(path, _images(rng, 20), rng.integers(0, 7, 20), [0] * 20)
    first = io.read_csv(path)

    def boom(*a, **k):
        raise AssertionError("parsed again instead of using the cache")
    monkeypatch.setattr(_cache, "parse_bytes", boom)
    second = io.read_csv(path)
    np.testing.assert_array_equal(first.x, second.x)


def test_cache_never_serves_a_changed_file(tmp_path, rng):
    path = tmp_path / "f.csv"
    x = _images(rng, 10)
    io.write_fer2013(path, x, np.zeros(10, int), [0] * 10)
    io.read_csv(path)
    x2 = x.copy()
    x2[3, 5, 5, 0] ^= 1  # one pixel, same file size most of the time
    io.write_fer2013(path, x2, np.zeros(10, int), [0] * 10)
    np.testing.assert_array_equal(io.read_csv(path).x, x2)


def _edit_one_pixel_in_place(path) -> None:
    """Change the first pixel of the first data row by one (same size, same inode)."""
    with open(path, "r+b") as f:
        offset = f.read().index(b"\n") + 3  # "emotion,pixels,Usage\n" then "0,": a pixel digit
        f.seek(offset)
        digit = f.read(1)
        f.seek(offset)
        f.write(b"8" if digit != b"8" else b"7")


def _one_row_file(path, first_pixel: int) -> None:
    path.write_text(_fer_text([(3, _row([first_pixel] + [7] * 2303), "Training")]))


def test_cache_sees_a_one_pixel_edit_in_place(tmp_path):
    path = tmp_path / "f.csv"
    _one_row_file(path, 5)
    assert io.read_csv(path).x[0, 0, 0, 0] == 5
    _edit_one_pixel_in_place(path)  # same size, same inode, maybe the same mtime tick
    assert io.read_csv(path).x[0, 0, 0, 0] == 8


def test_a_file_read_just_after_it_changed_is_checked_by_content(tmp_path, monkeypatch):
    # Make every stat look the same: only the content hash stored for a racy file is left.
    monkeypatch.setattr(_cache, "_stat_key", lambda st: str(st.st_size))
    path = tmp_path / "f.csv"
    _one_row_file(path, 5)
    io.read_csv(path)
    with np.load(_cache._cache_file(path), allow_pickle=False) as z:
        assert str(z["sha1"]) == io.file_digest(path)
    _edit_one_pixel_in_place(path)
    assert io.read_csv(path).x[0, 0, 0, 0] == 8


def test_an_old_file_is_keyed_on_its_stat_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "_RACY_NS", -10**18)  # as if the file were days old
    path = tmp_path / "f.csv"
    _one_row_file(path, 5)

    def boom(*a, **k):
        raise AssertionError("hashed a file whose stat vouches for it")
    monkeypatch.setattr(_cache, "_digest", boom)
    io.read_csv(path)  # no hash on the first read...
    assert io.read_csv(path).x[0, 0, 0, 0] == 5  # ...nor on the cached one
    with np.load(_cache._cache_file(path), allow_pickle=False) as z:
        assert str(z["sha1"]) == ""
    st = path.stat()
    _edit_one_pixel_in_place(path)  # a same-size rewrite with a different mtime:
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert io.read_csv(path).x[0, 0, 0, 0] == 8
    st = path.stat()
    _edit_one_pixel_in_place(path)  # 8 -> 7, and the mtime put back: the ctime moves on
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    if path.stat().st_ctime_ns != st.st_ctime_ns:  # (unless within one timestamp tick)
        assert io.read_csv(path).x[0, 0, 0, 0] == 7


def test_corrupt_cache_is_ignored_and_rebuilt(tmp_path, rng):
    path = tmp_path / "f.csv"
    x = _images(rng, 10)
    io.write_fer2013(path, x, np.zeros(10, int), [0] * 10)
    io.read_csv(path)
    cache = _cache._cache_file(path)
    cache.write_bytes(cache.read_bytes()[:100])  # half-written
    np.testing.assert_array_equal(io.read_csv(path).x, x)
    with np.load(cache, allow_pickle=False) as z:  # rebuilt
        pixels = cache.with_name(str(z["x_file"]))
    assert np.load(pixels, allow_pickle=False).shape == (10, 48, 48, 1)
    pixels.write_bytes(pixels.read_bytes()[:1000])  # the pixel file cut short
    np.testing.assert_array_equal(io.read_csv(path).x, x)
    np.save(pixels, np.array([object()], dtype=object), allow_pickle=True)  # a pickle
    np.testing.assert_array_equal(io.read_csv(path).x, x)  # refused, parsed again


def test_cache_keeps_one_pixel_file_per_csv(tmp_path, rng):
    path = tmp_path / "f.csv"
    for n in (5, 6, 7):  # three versions of the file
        io.write_fer2013(path, _images(rng, n), np.zeros(n, int), [0] * n)
        assert len(io.read_csv(path).x) == n
    other = tmp_path / "g.csv"
    io.write_fer2013(other, _images(rng, 3), np.zeros(3, int), [0] * 3)
    io.read_csv(other)
    for csv in (path, other):  # the old pixel files are gone, the other file's is kept
        cache = _cache._cache_file(csv)
        assert len(list(cache.parent.glob(cache.stem + "-*.x.npy"))) == 1


def test_cached_file_with_errors_still_raises(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(_fer_text([(3, GOOD, "Training"), (8, GOOD, "Training")]))
    assert len(io.read_csv(path, on_error="skip").skipped) == 1
    with pytest.raises(FERDataError, match="line 3: label 8"):
        io.read_csv(path)  # served from the cache, still an error


def test_synthfer_through_the_real_loader_keeps_masks(tmp_path):
    from fer_kit.data import synth
    csv = synth.write_synthfer(tmp_path, n_train=60, n_test=20, seed=3, course_files=True)
    ds = io.read_fer2013(csv)
    ref = synth.generate(100, seed=3)
    np.testing.assert_array_equal(ds.train.x, ref.x[:60])
    np.testing.assert_array_equal(ds.private.masks, ref.masks[80:])
    course = io.read_train_test(tmp_path)
    np.testing.assert_array_equal(course.test.x, ref.x[60:])
    labels = pd.read_csv(tmp_path / "test_labels.csv")
    np.testing.assert_array_equal(labels["label"], ref.y[60:])


def test_load_uses_fer_kit_data(tmp_path, rng, monkeypatch):
    x, y = _images(rng, 12), rng.integers(0, 7, 12)
    io.write_fer2013(tmp_path / "fer2013.csv", x, y, [0] * 6 + [1] * 3 + [2] * 3)
    monkeypatch.setenv("FER_KIT_DATA", str(tmp_path))
    ds = io.load()
    assert ds.name.endswith("fer2013.csv") and not ds.is_synthetic
    np.testing.assert_array_equal(ds.train.y, y[:6])


def test_load_defaults_to_synthfer():
    from fer_kit.data import synth
    ds = io.load("smoke")
    assert ds.is_synthetic
    assert len(ds.train) == 1400 and len(ds.public) == len(ds.private) == 210
    assert ds.train.masks is not None and ds.train.masks.shape == (1400, 48, 48)
    assert list(ds.summary().columns)[:7] == ["Angry", "Disgust", "Fear", "Happy", "Sad",
                                               "Surprise", "Neutral"]
    # synth_csv names the file load read; its sidecar holds each face's drawn class by
    # data row (the ids), as generate gives it, and the labels are those with label noise
    side = np.load(io.synth_csv("smoke").with_suffix(".masks.npz"))
    ref = synth.generate(1400 + 2 * 210, seed=0)
    np.testing.assert_array_equal(side["y_clean"], ref.y_clean)
    np.testing.assert_array_equal(ref.y[ds.private.ids], ds.private.y)
    np.testing.assert_array_equal(ds.private.drawn, ref.y_clean[ds.private.ids])  # Split.drawn
    np.testing.assert_array_equal(ds.train.take([4, 2]).drawn, ref.y_clean[ds.train.ids[[4, 2]]])
    assert 0.6 < np.mean(side["y_clean"][ds.train.ids] == ds.train.y) < 0.85  # v5: 28% wrong


# ---- the fast path, the threads and the cache written while parsing ----------------------
def test_fast_path_takes_clean_blocks_and_leaves_the_rest_to_the_careful_pass(rng):
    from fer_kit.data import _csvparse as csvparse
    x = rng.integers(0, 256, (4, 2304))
    x[0, :6] = [0, 9, 10, 99, 100, 255]
    clean = [_row(r).encode() for r in x]

    def fast(fields):  # what the fast path makes of a block: the pixels, or None
        text = b"\n".join([b" ", *fields, b""])
        newline = np.cumsum([len(f) + 1 for f in fields]) + 1
        out = np.empty((len(fields), 2304), np.uint8)
        ok = csvparse._parse_clean_block(np.frombuffer(text, np.uint8), newline, out,
                                         csvparse._Scratch())
        return out if ok else None

    rest = clean[0][clean[0].index(b" "):]  # the first row without its first number
    for row, first, fast_path in [
            (clean[0], 0, True),
            (b"  " + clean[0].replace(b" ", b"   ", 50) + b" ", 0, True),  # extra spaces
            (b"007" + rest, 7, True),  # leading zeros, three digits at most
            (b"0042" + rest, 42, False),  # four digits
            (clean[0].replace(b" ", b"\t", 9), 0, False),  # tabs
            (clean[0] + b"\r", 0, False)]:  # a CR
        want = x[[1, 0, 2]].copy()
        want[1, 0] = first
        block = [clean[1], row, clean[2]]
        got = fast(block)
        assert (got is not None) == fast_path, row[:20]
        if fast_path:
            np.testing.assert_array_equal(got, want)
        pixels, errors = parse_pixel_block(block)  # either way, the same values
        assert errors == {}
        np.testing.assert_array_equal(pixels, want)
    # out= is filled in place, also where rows are bad (left zero)
    out = np.full((3, 2304), 99, np.uint8)
    pixels, errors = parse_pixel_block([clean[0], b"1 2 3", clean[2]], out=out)
    assert pixels is out and list(errors) == [1]
    np.testing.assert_array_equal(out[[0, 2]], x[[0, 2]])
    assert not out[1].any()


def test_a_row_too_long_beside_a_row_too_short_is_not_a_clean_block(rng, tmp_path):
    """2,305 pixels then 2,303: the block's total is right, so only the per-row count of
    the fast path stands between the parser and one pixel sliding into the next image."""
    from fer_kit.data import _csvparse as csvparse
    x = rng.integers(0, 256, (5, 2304))
    rows = [_row(r).encode() for r in x]
    for block, bad in ([rows[0], rows[1] + b" 5", rows[2][:rows[2].rindex(b" ")], rows[3]],
                       {1: 2305, 2: 2303}), \
                      ([rows[0] + b" 5", rows[1], rows[2][:rows[2].rindex(b" ")]],
                       {0: 2305, 2: 2303}):  # three rows: the middle one counts 2,304
        text = b"\n".join([b" ", *block, b""])
        newline = np.cumsum([len(f) + 1 for f in block]) + 1
        out = np.empty((len(block), 2304), np.uint8)
        assert sum(len(f.split()) for f in block) == len(block) * 2304
        assert not csvparse._parse_clean_block(np.frombuffer(text, np.uint8), newline, out,
                                               csvparse._Scratch())
        pixels, errors = parse_pixel_block(block)
        assert errors == {r: f"expected 2304 pixel values, found {n}" for r, n in bad.items()}
        good = [r for r in range(len(block)) if r not in bad]
        np.testing.assert_array_equal(pixels[good], [np.array(block[r].split(), int) for r in good])
    path = tmp_path / "f.csv"
    path.write_text(_fer_text([(0, b.decode(), "Training") for b in
                               [rows[0], rows[1] + b" 5", rows[2][:rows[2].rindex(b" ")],
                                rows[3]]]))
    p = io.read_csv(path, on_error="skip", cache=False)
    assert p.skipped["line"].tolist() == [3, 4] and p.lines.tolist() == [2, 5]
    np.testing.assert_array_equal(p.x.reshape(2, -1), x[[0, 3]])


@pytest.mark.parametrize("kind", ["gzip", "zip", "bzip2"])
def test_a_compressed_file_is_named_as_one(tmp_path, kind):
    import bz2
    import gzip
    import zipfile
    text = _fer_text([(3, GOOD, "Training")]).encode()
    path = tmp_path / "fer2013.csv"
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("fer2013.csv", text)
    else:
        path.write_bytes(gzip.compress(text) if kind == "gzip" else bz2.compress(text))
    words = {"gzip": "a gzip-compressed file: decompress it first",
             "zip": "a zip archive: extract the .csv from it first",
             "bzip2": "a bzip2-compressed file: decompress it first"}[kind]
    with pytest.raises(FERDataError) as e:
        io.read_csv(path)
    assert str(e.value).startswith(f"{path}: {words}") and "\n" not in str(e.value)


def test_a_file_with_no_line_end_in_its_first_64_kib(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_bytes(b"emotion,pixels,Usage " + b"7 " * 40_000)  # 80 KB, no line end
    with pytest.raises(FERDataError, match=r"f?fer2013.csv, line 1: no line end in the first "
                                           r"64 KiB of 80,021 bytes"):
        io.read_csv(path)
    path.write_bytes(b"emotion,pixels,Usage")  # a short file, header only: read as before
    assert len(io.read_csv(path, cache=False).x) == 0


@pytest.mark.parametrize("cores", [1, 2, 4])
def test_rows_stay_in_order_with_any_number_of_threads(tmp_path, rng, monkeypatch, cores):
    from fer_kit.data import _csvparse as csvparse
    monkeypatch.setattr(csvparse, "_BLOCK_ROWS", 3)
    monkeypatch.setattr(csvparse, "_n_cores", lambda: cores)
    x, y = _images(rng, 40), rng.integers(0, 7, 40)
    io.write_fer2013(tmp_path / "f.csv", x, y, np.zeros(40, int))
    p = io.read_csv(tmp_path / "f.csv", cache=False)
    np.testing.assert_array_equal(p.x, x)
    np.testing.assert_array_equal(p.y, y)
    assert p.lines.tolist() == list(range(2, 42))


def test_many_short_bad_rows_among_good_ones(tmp_path, rng, monkeypatch):
    from fer_kit.data import _csvparse as csvparse
    monkeypatch.setattr(csvparse, "_BLOCK_ROWS", 4)
    x = _images(rng, 5)
    rows = ([(1, _row(x[i].ravel()), "Training") for i in range(3)]
            + [(2, "1 2 3", "Training")] * 30
            + [(3, _row(x[i].ravel()), "PublicTest") for i in (3, 4)])
    path = tmp_path / "f.csv"
    path.write_text(_fer_text(rows))
    p = io.read_csv(path, on_error="skip")
    np.testing.assert_array_equal(p.x, x)
    assert p.lines.tolist() == [2, 3, 4, 35, 36] and p.usage.tolist() == [0, 0, 0, 1, 1]
    assert p.skipped["line"].tolist() == list(range(5, 35))
    np.testing.assert_array_equal(io.read_csv(path, on_error="skip").x, x)  # cached


@pytest.mark.parametrize("bad_row", [False, True])
def test_pixel_cache_is_the_file_np_save_writes(tmp_path, rng, bad_row):
    from io import BytesIO
    x = _images(rng, 25)
    path = io.write_fer2013(tmp_path / "f.csv", x, np.zeros(25, int), [0] * 25)
    if bad_row:  # rows dropped after parsing: the pixel file is written again from x
        path.write_bytes(path.read_bytes().replace(b"\n0,", b"\n0,1 2 3,Training\n0,", 1))
    p = io.read_csv(path, on_error="skip")
    with np.load(_cache._cache_file(path), allow_pickle=False) as z:
        pixel_file = _cache._cache_file(path).with_name(str(z["x_file"]))
    expected = BytesIO()
    np.save(expected, p.x)
    assert pixel_file.read_bytes() == expected.getvalue()
    np.testing.assert_array_equal(p.x, x)
    assert len(p.skipped) == bad_row


def test_npy_header_length_does_not_depend_on_the_row_count():
    assert {len(_cache._npy_header(n)) for n in (0, 1, 35887, 10**15)} == {_cache._NPY_HEADER_LEN}


@pytest.mark.parametrize("old", [True, False])
def test_old_files_are_mapped_and_new_ones_read_alike(tmp_path, monkeypatch, old):
    if old:  # as if the file were days old: it is mapped, not read
        monkeypatch.setattr(_cache, "_RACY_NS", -10**18)
    text = ('\ufeffEmotion,Pixels,Usage\r\n3,"' + GOOD + '",Training\r\n\r\n'
            + "4," + GOOD + ",PrivateTest")  # BOM, CRLF, quotes, blank line, no last newline
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    seen, parse = [], _cache.parse_bytes
    monkeypatch.setattr(_cache, "parse_bytes",
                        lambda data, *a, **k: seen.append(type(data)) or parse(data, *a, **k))
    p = io.read_csv(path)
    assert seen == [mmap.mmap if old else bytes]
    assert p.y.tolist() == [3, 4] and p.usage.tolist() == [0, 2] and p.lines.tolist() == [2, 4]
    assert (p.x == 7).all() and len(p.skipped) == 0


@pytest.mark.parametrize("layout", ["fer2013", "train"])
def test_rows_read_at_once_match_rows_read_one_by_one(layout):
    # The usual rows are read with NumPy all at once; every row must come out as the
    # row-by-row reader (which reads all the others) would have it.
    from fer_kit.data import _csvparse as csvparse
    px = "1 2 3"  # the pixel text itself is not looked at here
    rows = ["3,{px},Training", "0,{px},PublicTest\r", '2,"{px}",PrivateTest', " 3,{px},Training",
            "+3,{px},Training", "10,{px},Training", "7,{px},Training", "3,{px},Training ",
            "3,{px},Validation", "3,{px}", "3", "", "   ", "        ", "3,,Training", "3,Training",
            "3,{px},x,Training", "3,{px},,Training", '3,"{px},Training', "6,{px},PrivateTest"]
    if layout == "train":
        rows = [r.replace(",Training", "").replace(",PublicTest", "").replace(",PrivateTest", "")
                for r in rows] + ["3,", "4,{px},5"]
    header = {"fer2013": "emotion,pixels,Usage", "train": "label,feature"}[layout]
    text = "\n".join([header] + [r.format(px=px) for r in rows] + ["5,{px}".format(px=px)])
    data = text.encode()
    pos = data.index(b"\n") + 1
    _, cols = csvparse._read_header(Path("x.csv"), header)
    got = csvparse._scan_rows(data, pos, cols)
    want = csvparse._Rows([], [], [], [], [], {})
    for i, line in enumerate(data[pos:].split(b"\n")):
        start = pos + sum(len(x) + 1 for x in data[pos:].split(b"\n")[:i])
        stop = start + len(line) - line.endswith(b"\r")
        if stop - start < 8 and not data[start:stop].strip():
            continue
        row = csvparse._read_row(data, start, stop, cols)
        if isinstance(row, str):
            want.skipped[i + 2] = row
            continue
        lab, ident, use, p0, p1 = row
        want.labels.append(lab)
        want.ids.append(len(want.lines) + len(want.skipped))
        want.usage.append(use)
        want.lines.append(i + 2)
        want.pixel_fields.append(data[p0:p1])
    want.truncated_line = len(rows) + 2  # the last line has no line end
    assert [bytes(f) for f in got.pixel_fields] == want.pixel_fields
    got.pixel_fields = want.pixel_fields
    assert got == want


def test_the_old_csvparse_module_still_works_and_says_it_is_deprecated(monkeypatch):
    """fer_kit.data.csvparse re-exports the parser's and writer's public names for one release."""
    import importlib
    import sys

    from fer_kit.data import _csvparse
    monkeypatch.delitem(sys.modules, "fer_kit.data.csvparse", raising=False)  # import it afresh
    with pytest.warns(DeprecationWarning, match=r"fer_kit\.data\.csvparse is deprecated"):
        old = importlib.import_module("fer_kit.data.csvparse")
    for name in old.__all__:
        assert getattr(old, name) is getattr(_csvparse, name, None) or name == "format_pixels"
    assert old.format_pixels is format_pixels and old.FERDataError is FERDataError

"""The pure cores of releases: MNIST preprocessing and IDX, stroke simplification, the split."""

from __future__ import annotations

import io
import struct
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.raster import render_alpha
from comnist.release.mnist import IdxWriter, centre_of_mass, mnist_image
from comnist.release.split import assign_splits, pseudo_sessions
from comnist.release.strokes import rdp, resample, simplify


def read_idx_from_spec(data: bytes) -> np.ndarray:
    """IDX as specified: 0, 0, type 0x08 (unsigned byte), ndim; ndim big-endian int32 sizes; data."""
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and type_code == 0x08
    shape = struct.unpack(f">{ndim}i", data[4 : 4 + 4 * ndim])
    body = data[4 + 4 * ndim :]
    assert len(body) == int(np.prod(shape))
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def test_idx_writer_headers_follow_the_spec():
    images, labels = io.BytesIO(), io.BytesIO()
    image_writer, label_writer = IdxWriter(images, 2, (28, 28)), IdxWriter(labels, 2)
    for value in (3, 7):
        image_writer.write(np.full((28, 28), value, dtype=np.uint8))
        label_writer.write(value)
    image_writer.close()
    label_writer.close()
    assert struct.unpack(">IIII", images.getvalue()[:16]) == (2051, 2, 28, 28)
    assert struct.unpack(">II", labels.getvalue()[:8]) == (2049, 2)
    assert read_idx_from_spec(images.getvalue())[1, 5, 5] == 7
    assert list(read_idx_from_spec(labels.getvalue())) == [3, 7]


def test_idx_writer_refuses_a_count_that_differs_from_the_header():
    writer = IdxWriter(io.BytesIO(), 2)
    writer.write(1)
    with pytest.raises(ValueError):
        writer.close()
    with pytest.raises(ValueError):
        IdxWriter(io.BytesIO(), 1, (28, 28)).write(np.zeros((27, 28)))


stroke = st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), min_size=1, max_size=6).map(
    lambda points: [[p[0] for p in points], [p[1] for p in points], list(range(len(points)))]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(stroke, min_size=1, max_size=4))
def test_mnist_images_fit_the_box_and_are_centred_by_mass(strokes):
    ink = np.asarray(render_alpha(strokes, 300, 300), dtype=np.float32)
    image = mnist_image(ink)
    assert image.shape == (28, 28) and image.dtype == np.uint8
    rows, cols = np.nonzero(image)
    assert rows.max() - rows.min() < 20 and cols.max() - cols.min() < 20
    row, col = centre_of_mass(image)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    assert image.any()  # ink stays ink, however small it becomes


def test_mnist_keeps_the_aspect_ratio_and_blank_stays_blank():
    tall = np.zeros((278, 278), dtype=np.float32)
    tall[20:260, 130:150] = 255  # a vertical bar, 12:1
    image = mnist_image(tall)
    rows, cols = np.nonzero(image > 0)
    assert rows.max() - rows.min() + 1 == 20 and cols.max() - cols.min() + 1 <= 3
    assert not mnist_image(np.zeros((278, 278), dtype=np.float32)).any()


def test_resample_spaces_points_one_pixel_apart():
    points = resample([(0.0, 0.0), (3.5, 0.0), (3.5, 2.0)])
    steps = [np.hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(points, points[1:], strict=False)]
    assert points[0] == (0.0, 0.0) and points[-1] == (3.5, 2.0)
    assert all(step <= 1.0 + 1e-9 for step in steps)


def test_rdp_drops_points_within_epsilon_and_keeps_corners():
    line = [(float(x), 0.5 * (x % 2)) for x in range(50)] + [(49.0, 40.0)]
    simplified = rdp(line, 2.0)
    assert simplified[0] == line[0] and simplified[-1] == line[-1]
    assert len(simplified) == 3


def test_simplify_gives_integers_in_0_255_with_the_larger_extent_spanning_it():
    strokes = [[[10, 60, 110], [20, 20, 45], [0, 10, 20]], [[50], [30], [30]]]
    simplified = simplify(strokes)
    xs = [x for s in simplified for x in s[0]]
    ys = [y for s in simplified for y in s[1]]
    assert min(xs) == 0 and max(xs) == 255 and min(ys) == 0 and max(ys) <= 255
    assert all(isinstance(v, int) for v in xs + ys)
    assert simplified[1] == [[102], [26]]  # a dot stays one point


def test_split_keeps_groups_whole_is_seeded_and_stratified():
    groups = {
        f"s{i}": Counter({letter: 1 + (i + k) % 3 for k, letter in enumerate("АБВГД")})
        for i in range(200)
    }
    first = assign_splits(groups, seed=1)
    assert first == assign_splits(dict(reversed(groups.items())), seed=1)
    assert first != assign_splits(groups, seed=2)
    assert set(first.values()) == {"train", "validation", "test"}
    for letter in "АБВГД":
        total = sum(c[letter] for c in groups.values())
        for split, share in (("test", 0.2), ("validation", 0.1)):
            placed = sum(c[letter] for g, c in groups.items() if first[g] == split)
            assert abs(placed / total - share) < 0.03, (letter, split)


def test_pseudo_sessions_join_times_a_few_seconds_apart():
    starts = pseudo_sessions([100, 105, 130, 500, 520, 2000])
    assert starts == {100: 100, 105: 100, 130: 100, 500: 500, 520: 500, 2000: 2000}


def test_stored_zip_writer_is_read_by_zipfile_with_zip64_entry_counts():
    import zipfile

    from comnist.release.ziparchive import StoredZipWriter

    buffer = io.BytesIO()
    writer = StoredZipWriter(buffer)
    for n in range(70_000):  # more than the classic format's 65,535 entries
        writer.add(f"Latin/A/{n:05d}.png", b"%d" % n)
    writer.add("Cyrillic/Ж/ж.png", b"")
    writer.close()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        infos = archive.infolist()
        assert len(infos) == 70_001 and archive.testzip() is None
        assert archive.read("Latin/A/69999.png") == b"69999"
        assert infos[-1].filename == "Cyrillic/Ж/ж.png" and infos[0].date_time == (
            1980,
            1,
            1,
            0,
            0,
            0,
        )

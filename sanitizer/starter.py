"""The starter letter check: a letter classifier for alphabets with few or no drawings yet.

A new deployment has no drawings to learn its letters from, so the letter check (and the site's
live guess, :mod:`sanitizer.recognizer`) would stay silent for weeks. The starter classifier is
trained instead on real hand-drawn letters where a licence allows it (the 2017 CoMNIST
drawings, CC BY-SA 4.0: 4,470 Cyrillic, 179 Latin), on every letter of every configured
alphabet as a pen draws it in the shapes of free fonts (:mod:`sanitizer.glyphs`: DejaVu and
Liberation, skeletons drawn again with the collector's 15 px pen), each with writer-like
distortions (rotation, slant, proportions, a wobbling hand), the fallback for letters and
alphabets with few or no drawings, and on the not-a-letter pictures of
:mod:`sanitizer.nonletters`. It is shipped as package data:

- ``starter.json``: a :class:`sanitizer.model.ModelSet` holding only letter classifiers, one
  per alphabet; :func:`starter_model` loads it. It judges drawings while the store holds no
  model, alphabets with fewer than two letters of 20 drawings (no classifier of their own
  yet), and letters nobody has drawn. Its ``members`` are the hashes of the drawings it learned
  from, so that an evaluation on them can train without them (``comnist evaluate``).
- ``starter_letters.npz``: the font letters' pictures. A refit teaches each letter from its own
  drawings plus font pictures (:func:`starter_fill`), fewer as drawings accumulate, none once a
  letter has :data:`TAKEOVER_DRAWINGS`: the collection's drawings take over.

Both are built offline, reproducibly, by ``comnist starter FONT... --drawings FOLDER`` (``make
starter``): Lambda has no fonts, and refits must not depend on the fonts of the machine that
runs them, nor on the 2017 drawings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import ImageFont

from .augment import affine_matrix
from .features import PICTURE_SIDE, letter_picture
from .glyphs import GLYPH_CANVAS, GLYPH_SIZE, glyph_strokes, transformed
from .image import InvalidDrawing, decode_ink
from .model import ModelSet, Starter, id_hash, train_classifier
from .nonletters import NOT_A_LETTER, Rasterize, empty_pictures, nonletter_pictures, pen_picture

MODEL_FILE = Path(__file__).with_name("starter.json")
PICTURES_FILE = Path(__file__).with_name("starter_letters.npz")
# A letter is taught by font pictures until the collection holds this many of its drawings,
# fewer and fewer on the way (linearly).
TAKEOVER_DRAWINGS = 50
# Distorted drawings of each letter in each font.
VARIANTS = 3
# A wobbling hand: sine displacements of up to this share of the glyph canvas.
MAX_WOBBLE = 0.04
# Fonts are cleaner than hands: a classifier trained long on them is sure of itself on letters
# unlike any font. Fewer epochs than a collection's classifiers.
EPOCHS = 12
# Rows of the starter's training set, distorted copies included: the fonts' and drawings'
# letters and as many not-a-letter pictures, each about three times over.
STARTER_ROWS = 40_000
# Fonts are not hands: the classifier trained on them is surer of itself than it is right. Its
# logits are divided by this temperature, the one that minimised the negative log-likelihood of
# the real 2017 Cyrillic drawings (1.88 nats against 3.82 undivided), and it flags a drawing
# whose claimed letter gets odds below 1 in STARTER_ODDS, the round odds at which it flags 5 %
# of those Cyrillic drawings (5.2 %; 1 in 200 did before the hand-drawn doodles joined the
# not-a-letter pictures, and flags 4.2 % since). Both are chosen on Cyrillic drawings only
# and not fitted at build.
STARTER_TEMPERATURE = 3.0
STARTER_ODDS = 150.0
STARTER_SEED = 2017
STARTER_VERSION = "starter-1"


@cache
def starter_model(path: Path = MODEL_FILE) -> ModelSet | None:
    """The shipped starter :class:`~sanitizer.model.ModelSet` (letter classifiers only), or ``None``.

    Its ``classifiers`` map each configured alphabet to one classifier whose labels are the
    alphabet's letters and the not-a-letter class; ``letters`` is empty (fonts are not writers:
    no shape model is fitted on them). Loaded once per process; ``None`` if the file is absent
    or of another format.
    """
    if not path.exists():
        return None
    try:
        return ModelSet.from_json(path.read_bytes())
    except (ValueError, KeyError, TypeError):
        return None


@cache
def _pictures(path: Path = PICTURES_FILE) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    if not path.exists():
        return {}
    with np.load(path, allow_pickle=False) as data:
        pictures, alphabets, letters = data["pictures"], data["alphabets"], data["letters"]
    if pictures.dtype != np.uint8 or pictures.shape[1:] != (PICTURE_SIDE, PICTURE_SIDE):
        raise ValueError(f"{path}: expected uint8 pictures of side {PICTURE_SIDE}")
    out = {}
    for alphabet in sorted(set(alphabets.tolist())):
        keep = alphabets == alphabet
        chosen = pictures[keep]
        chosen.setflags(write=False)
        out[alphabet] = (chosen, tuple(letters[keep].tolist()))
    return out


def starter_alphabets() -> frozenset[str]:
    """The alphabets the shipped font pictures cover."""
    return frozenset(_pictures())


def shipped_starter() -> Starter:
    """The shipped starter as a refit takes it (:func:`sanitizer.model.fit_models`)."""
    return Starter(starter_model(), starter_fill, starter_alphabets())


def starter_fill(alphabet: str, drawings: Mapping[str, int]) -> tuple[np.ndarray, list[str]]:
    """The font pictures a refit adds for ``alphabet``, given its drawings per letter.

    A letter with ``n >= 1`` drawings gets ``ceil(m * (1 - n / TAKEOVER_DRAWINGS))`` of its
    ``m`` font pictures (the first ones, which the builder shuffled across fonts): nearly all
    for a letter drawn once, none from :data:`TAKEOVER_DRAWINGS` drawings on. A letter nobody
    has drawn gets none: the starter classifier judges it (:func:`sanitizer.score_drawing`).
    Returns ``(pictures, letters)``, possibly empty.
    """
    pictures, letters = _pictures().get(alphabet, (empty_pictures(), ()))
    quota = {
        letter: math.ceil(
            letters.count(letter) * max(0.0, 1 - drawings.get(letter, 0) / TAKEOVER_DRAWINGS)
        )
        for letter in set(letters)
        if drawings.get(letter, 0) > 0
    }
    keep = []
    for i, letter in enumerate(letters):
        if quota.get(letter, 0) > 0:
            keep.append(i)
            quota[letter] -= 1
    return pictures[keep], [letters[i] for i in keep]


def font_letter_pictures(
    fonts: Sequence[Path],
    alphabets: Mapping[str, Sequence[str]],
    rasterize: Rasterize,
    *,
    variants: int = VARIANTS,
    seed: int = STARTER_SEED,
) -> tuple[np.ndarray, list[str], list[str]]:
    """Every letter of every alphabet drawn in every font, ``variants`` times with distortions.

    ``rasterize(strokes, width, height)`` is the collector's pen (an ``L`` image or array of
    ink, 255 = full); the first variant of each is undistorted. Returns ``(pictures,
    alphabets, letters)`` in a shuffled, seeded order. Fonts lacking a letter are skipped for it.
    """
    rng = np.random.default_rng(seed)
    centre = GLYPH_CANVAS / 2
    pictures, alphabet_of, letter_of = [], [], []
    for path in fonts:
        font = ImageFont.truetype(str(path), GLYPH_SIZE)
        for alphabet, letters in alphabets.items():
            for letter in letters:
                strokes = glyph_strokes(font, letter)
                if not strokes:
                    continue
                for variant in range(variants):
                    if variant:
                        wobble = np.column_stack(
                            [
                                rng.uniform(0, MAX_WOBBLE * GLYPH_CANVAS, 4),
                                rng.uniform(1.0, 3.0, 4),
                                rng.uniform(0, 2 * math.pi, 4),
                            ]
                        )
                        drawn = transformed(strokes, affine_matrix(rng), centre, wobble)
                    else:
                        drawn = strokes
                    picture = pen_picture(rasterize, drawn, GLYPH_CANVAS, GLYPH_CANVAS)
                    if picture is not None:
                        pictures.append(picture)
                        alphabet_of.append(alphabet)
                        letter_of.append(letter)
    order = rng.permutation(len(pictures))
    stacked = np.stack(pictures)[order] if pictures else empty_pictures()
    return (
        stacked,
        [alphabet_of[i] for i in order],
        [letter_of[i] for i in order],
    )


@dataclass(frozen=True)
class LetterPictures:
    """Letter pictures (:func:`sanitizer.features.letter_picture`) with their alphabets and letters;
    ``names`` say where each came from (a drawing's file name, or empty)."""

    pictures: np.ndarray
    alphabets: tuple[str, ...]
    letters: tuple[str, ...]
    names: tuple[str, ...] = ()

    def only(self, keep: np.ndarray) -> LetterPictures:
        """The pictures where ``keep`` is true."""
        chosen = np.flatnonzero(keep)
        return LetterPictures(
            self.pictures[chosen],
            tuple(self.alphabets[i] for i in chosen),
            tuple(self.letters[i] for i in chosen),
            tuple(self.names[i] for i in chosen) if self.names else (),
        )

    def __len__(self) -> int:
        return len(self.pictures)


def shipped_font_letters() -> LetterPictures:
    """The committed font letters (``starter_letters.npz``) of every alphabet."""
    parts = [(alphabet, *both) for alphabet, both in sorted(_pictures().items())]
    if not parts:
        return LetterPictures(empty_pictures(), (), ())
    return LetterPictures(
        np.concatenate([pictures for _, pictures, _ in parts]),
        tuple(alphabet for alphabet, _, letters in parts for _ in letters),
        tuple(letter for _, _, letters in parts for letter in letters),
    )


def drawn_letters(root: Path, alphabets: Mapping[str, Sequence[str]]) -> LetterPictures:
    """The letter pictures of hand-drawn PNGs in ``root/<alphabet>/<letter>/*.png``.

    The 2017 CoMNIST drawings have this layout. Only configured alphabets and letters are read
    (folder names compared in upper case), in sorted order; blank or broken files are skipped.
    Names are the files' stems (the 2017 ``uniqid()``, which dates them: writer folds).
    """
    pictures, alphabet_of, letter_of, names = [], [], [], []
    for alphabet, letters in sorted(alphabets.items()):
        folder = root / alphabet
        if not folder.is_dir():
            continue
        wanted = set(letters)
        for letter_folder in sorted(p for p in folder.iterdir() if p.is_dir()):
            letter = letter_folder.name.upper()
            if letter not in wanted:
                continue
            for path in sorted(letter_folder.glob("*.png")):
                try:
                    ink = decode_ink(path.read_bytes())
                except InvalidDrawing:
                    continue
                picture = letter_picture(ink)
                if picture is not None:
                    pictures.append(picture)
                    alphabet_of.append(alphabet)
                    letter_of.append(letter)
                    names.append(path.stem)
    stacked = np.stack(pictures) if pictures else empty_pictures()
    return LetterPictures(stacked, tuple(alphabet_of), tuple(letter_of), tuple(names))


def train_starter(
    alphabets: Mapping[str, Sequence[str]],
    fonts: LetterPictures,
    drawings: LetterPictures | None = None,
    *,
    epochs: int | None = None,
    temperature: float | None = None,
) -> ModelSet:
    """One calibrated classifier per alphabet from font letters and hand-drawn letters.

    Every label is a configured letter of the alphabet (a letter neither drawn nor in a font is
    left out) and the not-a-letter class. Deterministic: fixed seeds and ``created`` time.
    """
    drawings = drawings or LetterPictures(empty_pictures(), (), ())
    model = ModelSet(STARTER_VERSION, "2017-01-01T00:00:00Z")
    has_nonletters = len(nonletter_pictures()) > 0
    for alphabet in sorted(alphabets):
        parts = [
            part.only(np.array([a == alphabet for a in part.alphabets], dtype=bool))
            for part in (fonts, drawings)
        ]
        pictures = np.concatenate([part.pictures for part in parts])
        letters = [letter for part in parts for letter in part.letters]
        configured = set(alphabets[alphabet])
        labels = sorted(set(letters) & configured) + ([NOT_A_LETTER] if has_nonletters else [])
        if len(labels) < 2:
            continue
        keep = np.array([letter in configured for letter in letters], dtype=bool)
        y = np.array([labels.index(letter) for letter, k in zip(letters, keep, strict=True) if k])
        model.classifiers[alphabet] = [
            # The font letters got their wobbling hand when drawn (font_letter_pictures); the
            # starter was measured without elastic warps on top, and with not-a-letter pictures
            # drawn at random: doodles first took Latin's wrong letters caught from 0.63-0.71 to
            # 0.48-0.61 (seeds 1-3 of comnist evaluate --alphabet latin --starter-only).
            train_classifier(
                pictures[keep],
                y,
                labels,
                seed=STARTER_SEED,
                epochs=epochs or EPOCHS,
                target_rows=STARTER_ROWS,
                elastic=0.0,
                doodles_first=False,
            )
        ]
    calibrate(model, temperature or STARTER_TEMPERATURE)
    # The drawings it learned from, by name: an evaluation on them knows to train without them.
    model.members = np.unique(np.array([id_hash(name) for name in drawings.names], dtype=np.uint32))
    return model


def build(
    fonts: Sequence[Path],
    alphabets: Mapping[str, Sequence[str]],
    rasterize: Rasterize,
    out_dir: Path = MODEL_FILE.parent,
    *,
    drawings: Path | None = None,
    variants: int = VARIANTS,
    epochs: int | None = None,
) -> ModelSet:
    """Render the font letters, train one classifier per alphabet and write both files.

    ``drawings`` is a folder of hand-drawn letters (:func:`drawn_letters`) the classifiers also
    learn from. Writes ``starter_letters.npz`` (the font letters only) and ``starter.json`` into
    ``out_dir``; returns the model. Reproducible: fixed seeds, and the model's ``created`` time
    is fixed.
    """
    pictures, alphabet_of, letter_of = font_letter_pictures(
        fonts, alphabets, rasterize, variants=variants
    )
    np.savez_compressed(
        out_dir / PICTURES_FILE.name,
        pictures=pictures,
        alphabets=np.array(alphabet_of),
        letters=np.array(letter_of),
    )
    font_letters = LetterPictures(pictures, tuple(alphabet_of), tuple(letter_of))
    drawn = drawn_letters(drawings, alphabets) if drawings is not None else None
    model = train_starter(alphabets, font_letters, drawn, epochs=epochs)
    (out_dir / MODEL_FILE.name).write_bytes(model.to_json())
    return model


def calibrate(model: ModelSet, temperature: float = STARTER_TEMPERATURE) -> None:
    """Divide each starter classifier's logits by ``temperature`` (its last layer's weights and
    bias) and set each alphabet's threshold to odds of 1 in :data:`STARTER_ODDS`.

    The inference path stays the same: picture, descriptor, network, softmax.
    """
    for alphabet, classifiers in model.classifiers.items():
        for classifier in classifiers:
            classifier.w2 = classifier.w2 / temperature
            classifier.b2 = classifier.b2 / temperature
        model.letter_thresholds[alphabet] = math.log(STARTER_ODDS)

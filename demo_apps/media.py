"""Demo media: real WAV files (16-bit mono PCM) of tone bursts and near-silence, plus one unreadable file.

A pattern is a list of parts played one after the other: ``("tone", seconds, hertz)`` or ``("silence", seconds)``.
"""

import array
import math
import random
import sys
import wave
from pathlib import Path

Pattern = list[tuple]

TONE_AMPLITUDE = 0.5  # of full scale: an RMS of about 0.35, far above the segmenter's default threshold
HISS_AMPLITUDE = 0.002  # of full scale: an RMS of about 0.001, far below it, so silences are not digital zeros

DEMO_MEDIA: list[tuple[str, Pattern]] = [
    ("beep", [("silence", 0.5), ("tone", 1.0, 440), ("silence", 0.5)]),
    ("two-tones", [("tone", 1.0, 440), ("silence", 0.5), ("tone", 0.8, 660), ("silence", 0.7)]),
    (
        "morse-ok",
        [
            ("silence", 0.3),
            ("tone", 0.9, 600),
            ("silence", 0.3),
            ("tone", 0.9, 600),
            ("silence", 0.3),
            ("tone", 0.9, 600),
            ("silence", 0.9),
            ("tone", 0.9, 600),
            ("silence", 0.3),
            ("tone", 0.3, 600),
            ("silence", 0.3),
            ("tone", 0.9, 600),
            ("silence", 0.5),
        ],
    ),
    ("interview-pause", [("tone", 2.0, 330), ("silence", 1.5), ("tone", 2.5, 392)]),
    (
        "chimes",
        [
            ("silence", 1.0),
            ("tone", 1.5, 523),
            ("tone", 1.5, 659),
            ("silence", 1.0),
            ("tone", 2.0, 784),
            ("silence", 1.0),
        ],
    ),
]

BROKEN_NAME = "broken.wav"


def write_demo_wav(path: Path | str, pattern: Pattern, sample_rate: int = 16000) -> Path:
    """Write ``pattern`` as a 16-bit mono PCM WAV file at ``path`` and return the path.

    Tones are sine waves at half of full scale; silences hold a faint, reproducible hiss.
    Raises ``ValueError`` on a part that is neither a tone nor a silence.
    """
    hiss = random.Random(0)
    full_scale = 32767
    samples = array.array("h")
    for kind, seconds, *rest in pattern:
        count = round(seconds * sample_rate)
        if kind == "tone":
            step = 2 * math.pi * rest[0] / sample_rate
            samples.extend(round(full_scale * TONE_AMPLITUDE * math.sin(step * i)) for i in range(count))
        elif kind == "silence":
            samples.extend(round(full_scale * hiss.uniform(-HISS_AMPLITUDE, HISS_AMPLITUDE)) for _ in range(count))
        else:
            raise ValueError(f"A pattern part must be a tone or a silence, not {kind!r}.")
    if sys.byteorder == "big":
        samples.byteswap()  # WAV samples are little-endian
    path = Path(path)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(samples.tobytes())
    return path


def expected_sound_spans(pattern: Pattern) -> list[tuple[float, float]]:
    """The (start, end) seconds of the pattern's sound, one span per run of back-to-back tones."""
    spans: list[tuple[float, float]] = []
    position = 0.0
    for kind, seconds, *_ in pattern:
        if kind == "tone":
            if spans and spans[-1][1] == position:
                spans[-1] = (spans[-1][0], position + seconds)
            else:
                spans.append((position, position + seconds))
        position += seconds
    return spans


def write_demo_media(folder: Path | str) -> list[Path]:
    """Write every pattern of ``DEMO_MEDIA`` as ``<name>.wav`` into ``folder`` (created if missing), then
    ``broken.wav``, a text file that no app can read as audio; return the paths in that order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [write_demo_wav(folder / f"{name}.wav", pattern) for name, pattern in DEMO_MEDIA]
    broken = folder / BROKEN_NAME
    broken.write_text("this is not audio\n")
    return [*paths, broken]

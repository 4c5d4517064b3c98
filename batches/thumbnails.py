"""Thumbnails of media files: a small still of a video or an image, a waveform strip of audio.

Made by background jobs (batches/background.py, background/), never during a run. Images are read with
Pillow; video and audio are decoded by the ffmpeg binary inside the imageio-ffmpeg wheel. A location is
checked first as staging checks it (clams_apps/url_policy.py): a path must lie under
CHOWDA_MEDIA_FILE_ROOTS; an http(s) URL's redirects are followed by Chowda, each hop checked, and ffmpeg
gets the last one with ``-max_redirects 0``, so it never follows a redirect the policy has not seen; an
s3:// location is handed to it as a presigned URL, which no message or log ever shows.
"""

import io
import subprocess
from array import array
from urllib.parse import urlsplit

import imageio_ffmpeg
import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw

from batches import locations
from batches.models import DocumentType, MediaFile
from batches.s3 import s3_media
from clams_apps.url_policy import UrlRefused, check_media_path, media_request

SIZE = (160, 90)
WAVE_SIZE = (320, 48)
# Samples per second decoded for the waveform: keeps speech and tones (up to 4 kHz) that a lower rate would filter out.
WAVE_RATE = 8000


class ThumbnailFailed(Exception):
    """The media could not be read or decoded; the message says which file and why."""


def media_thumbnail_make(media_file: MediaFile) -> bool:
    """Make the file's thumbnail and store it (replacing an older one); False for text, which has none.

    Raises ThumbnailFailed with a sentence when the media cannot be read or decoded.
    """
    location = media_file.location
    if media_file.document_type == DocumentType.IMAGE:
        png = _image_still(location)
    elif media_file.document_type == DocumentType.VIDEO:
        png = _video_still(_readable(location), location)
    elif media_file.document_type == DocumentType.AUDIO:
        png = _waveform(_readable(location), location)
    else:
        return False
    if media_file.thumbnail:
        media_file.thumbnail.delete(save=False)
    name = default_storage.save(f"thumbnails/{media_file.guid}.png", ContentFile(png))
    MediaFile.objects.filter(pk=media_file.pk).update(thumbnail=name)
    return True


def _readable(location: str) -> str:
    """What ffmpeg may open: a checked path, the last URL of a checked chain of redirects, or a presigned URL for
    s3://. Raises ThumbnailFailed with a sentence that names ``location`` (never a presigned URL)."""
    parts = urlsplit(location)
    if parts.scheme == "s3":
        client, where = s3_media(location)
        return client.generate_presigned_url("get_object", Params=where)
    try:
        if locations.scheme_of(location) is not None:
            return _last_hop(locations.readable(location), named=location)
        if parts.scheme == "file":
            return check_media_path(location)
        return _last_hop(location)
    except locations.Unresolved as exc:
        raise ThumbnailFailed(str(exc)) from None
    except UrlRefused as exc:
        raise ThumbnailFailed(f"Could not read the media at {location}: {exc}.") from None
    except requests.RequestException as exc:
        raise ThumbnailFailed(
            f"Could not read the media at {location}: the server cannot be reached ({exc.__class__.__name__})."
        ) from None


def _last_hop(url: str, named: str | None = None) -> str:
    """The URL the server finally answers from, every redirect checked by the media policy on the way. Messages
    name ``named`` (the media file's own location, when ``url`` is a signed URL made of it)."""
    response = media_request("HEAD", url, timeout=settings.STAGING_TIMEOUT)
    if response.status_code == 405:  # no HEAD here: ask for the start of the file instead
        response = media_request("GET", url, timeout=settings.STAGING_TIMEOUT, stream=True)
        response.close()
    if response.status_code >= 400:
        raise ThumbnailFailed(
            f"Could not read the media at {named or url}: the server answered HTTP {response.status_code}."
        )
    return response.url


def _ffmpeg(source: str, location: str, *arguments: str) -> bytes:
    """ffmpeg's output for ``source`` (what ``_readable`` made of ``location``, which messages name)."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error"]
    if urlsplit(source).scheme in ("http", "https"):
        command += ["-max_redirects", "0"]
    done = subprocess.run([*command, "-i", source, *arguments, "-"], capture_output=True, timeout=600, check=False)
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").replace(source, location)[-300:]
        raise ThumbnailFailed(f"ffmpeg could not decode {location}: {said}")
    return done.stdout


def _video_still(source: str, location: str) -> bytes:
    scale = f"scale={SIZE[0]}:-2"
    for seek in ("1", "0"):  # a second in, past a black first frame; from the start if it is shorter
        png = _ffmpeg(
            source, location, "-ss", seek, "-frames:v", "1", "-vf", scale, "-f", "image2pipe", "-vcodec", "png"
        )
        if png:
            return png
    raise ThumbnailFailed(f"{location} has no video frame to show.")


def _image_still(location: str) -> bytes:
    parts = urlsplit(location)
    try:
        if parts.scheme == "file":
            data = open(check_media_path(location), "rb").read()  # noqa: SIM115 (read at once)
        elif parts.scheme == "s3":
            client, where = s3_media(location)
            data = client.get_object(**where)["Body"].read()
        else:
            response = media_request("GET", locations.readable(location), timeout=settings.STAGING_TIMEOUT)
            response.raise_for_status()
            data = response.content
        image = Image.open(io.BytesIO(data))
        image.thumbnail(SIZE)
    except Exception as exc:
        raise ThumbnailFailed(f"Could not read the image at {location}: {exc}") from None
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG")
    return out.getvalue()


def _waveform(source: str, location: str) -> bytes:
    pcm = array("h", _ffmpeg(source, location, "-ac", "1", "-ar", str(WAVE_RATE), "-f", "s16le"))
    width, height = WAVE_SIZE
    image = Image.new("RGB", WAVE_SIZE, "white")
    draw = ImageDraw.Draw(image)
    per_column = max(1, len(pcm) // width)
    middle = height / 2
    for x in range(min(width, len(pcm))):
        column = pcm[x * per_column : (x + 1) * per_column]
        peak = max((abs(sample) for sample in column), default=0) / 32768
        draw.line([(x, middle - peak * middle), (x, middle + peak * middle)], fill="#417690")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()

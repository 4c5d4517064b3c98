"""A malformed upload of MMIF (a damaged, encrypted or unusual zip member, or JSON nested too deep) is refused
with a sentence, through the API and the admin, and stores nothing."""

import io
import struct
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from batches.mmif import source_mmif
from runs import inputs
from runs.models import BatchInput
from tests.factories import BatchFactory, MediaFileFactory

pytestmark = pytest.mark.django_db

GUID = "cpb-aacip-11"
MEMBER = f"{GUID}.mmif"


@pytest.fixture
def batch():
    return BatchFactory(name="From elsewhere", media_files=[MediaFileFactory(guid=GUID)])


def zip_of(content: bytes, compression=zipfile.ZIP_DEFLATED) -> bytearray:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        archive.writestr(MEMBER, content)
    return bytearray(buffer.getvalue())


def patched(data: bytearray, **fields) -> bytearray:
    """The zip with fields of its one member changed in both its local header and the central directory."""
    at = {"flags": (6, 8, "<H"), "method": (8, 10, "<H"), "crc": (14, 16, "<I"), "size": (22, 24, "<I")}
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    for name, value in fields.items():
        local_offset, central_offset, layout = at[name]
        struct.pack_into(layout, data, local + local_offset, value)
        struct.pack_into(layout, data, central + central_offset, value)
    return data


def cut_short(data: bytearray) -> bytearray:
    """The zip with the second half of its member's compressed bytes gone, its directory still pointing past them."""
    compressed = struct.unpack_from("<I", data, 18)[0]
    start = 30 + len(MEMBER)
    lost = compressed // 2
    end = data.find(b"PK\x05\x06") - lost
    shortened = data[: start + compressed - lost] + data[start + compressed :]
    directory_offset = struct.unpack_from("<I", shortened, end + 16)[0]
    struct.pack_into("<I", shortened, end + 16, directory_offset - lost)
    return shortened


def the_mmif(batch) -> bytes:
    return source_mmif(batch.media_files.get()).encode()


MALFORMED = {
    "a false size and a mismatched CRC": (
        lambda mmif: patched(zip_of(mmif), size=10, crc=0x12345678),
        f"{MEMBER} in inputs.zip cannot be unpacked",
    ),
    "an encrypted member": (
        lambda mmif: patched(zip_of(mmif), flags=0x1),
        f"{MEMBER} in inputs.zip is encrypted",
    ),
    "compression method 99": (
        lambda mmif: patched(zip_of(mmif), method=99),
        f"{MEMBER} in inputs.zip is compressed with method 99, which Chowda does not unpack",
    ),
    # zipfile inflates a bzip2 member whole, whatever size the zip declares: a zip bomb past the limit.
    "a bzip2 member with a false size": (
        lambda mmif: patched(zip_of(mmif, compression=zipfile.ZIP_BZIP2), size=10),
        f"{MEMBER} in inputs.zip is compressed with method 12 (bzip2), which Chowda does not unpack",
    ),
    "a truncated member": (
        lambda mmif: cut_short(zip_of(mmif * 20, compression=zipfile.ZIP_STORED)),
        f"{MEMBER} in inputs.zip cannot be unpacked",
    ),
}


@pytest.mark.parametrize("kind", MALFORMED)
def test_the_api_refuses_a_malformed_zip_member_with_a_sentence_and_stores_nothing(api, batch, kind):
    make, sentence = MALFORMED[kind]

    answer = api.post(
        f"/api/batches/{batch.pk}/inputs/",
        {"file": ContentFile(bytes(make(the_mmif(batch))), name="inputs.zip")},
        format="multipart",
    )

    assert answer.status_code == 409, answer.content
    detail = answer.json()["detail"]
    assert detail.startswith(f"Nothing was stored: {sentence}"), detail
    assert detail.endswith(".")
    assert not BatchInput.objects.exists()


def test_the_admin_upload_page_says_an_encrypted_member_cannot_be_read(curator_client, batch):
    encrypted = patched(zip_of(the_mmif(batch)), flags=0x1)

    page = curator_client.post(
        reverse("admin:batches_batch_upload_inputs", args=[batch.pk]),
        {"file": ContentFile(bytes(encrypted), name="inputs.zip")},
    )

    assert page.status_code == 200
    assert f"{MEMBER} in inputs.zip is encrypted" in page.content.decode()
    assert not BatchInput.objects.exists()


def test_a_mmif_nested_100000_deep_is_refused_with_a_sentence(api, batch):
    deep = b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    answer = api.post(f"/api/batches/{batch.pk}/inputs/", {"file": ContentFile(deep, name=MEMBER)}, format="multipart")

    assert answer.status_code == 409, answer.content
    assert answer.json()["detail"].startswith(f"Nothing was stored. {MEMBER}: it nests deeper than"), answer.json()
    assert not BatchInput.objects.exists()


def test_names_given_more_than_once_are_found_among_many():
    names = [f"cpb-aacip-{n}" for n in range(200_000)] + ["cpb-aacip-7", "cpb-aacip-199999", "cpb-aacip-7"]

    assert inputs.repeated(names) == ["cpb-aacip-199999", "cpb-aacip-7"]
    assert inputs.repeated(names[:1000]) == []

"""The Sony Ci client against the loopback stand-in: paging, the token, and a sentence for every failure."""

import socket
from dataclasses import replace

import pytest
import requests

from sources.sonyci import SonyCi, SonyCiAccount, SonyCiError, SonyCiItem
from tests.sonyci_standin import SonyCiStandIn


@pytest.fixture
def ci():
    with SonyCiStandIn() as standin:
        yield standin


def account(ci: SonyCiStandIn, **changes) -> SonyCiAccount:
    return replace(SonyCiAccount(**ci.credentials), **changes)


def assert_no_secret(ci: SonyCiStandIn, text: str) -> None:
    for secret in (ci.password, ci.client_secret, *ci._tokens):
        assert secret not in text


def test_250_assets_come_in_3_pages_of_at_most_100_with_every_field(ci):
    assets = ci.add_assets(250)
    client = SonyCi(account(ci))

    pages = list(client.pages(ci.workspace_id))

    assert [len(page) for page in pages] == [100, 100, 50]
    items = [item for page in pages for item in page]
    assert [item.asset_id for item in items] == [asset.asset_id for asset in assets]
    assert items[0] == SonyCiItem(
        asset_id=assets[0].asset_id,
        name="cpb-aacip-000-00000000.mp4",
        kind="Video",
        size=len(b"bytes of asset 0"),
        mime="video/mp4",
    )
    assert ci.hits[ci.contents_path()] == 3
    queries = [query for _method, path, query in ci.requests if path == ci.contents_path()]
    assert [query["offset"] for query in queries] == ["0", "100", "200"]
    for query in queries:
        assert query["kind"] == "asset"
        assert query["limit"] == "100"
        assert query["fields"] == "id,name,type,size,thumbnails,format"


def test_kinds_sizes_and_media_types_come_from_the_name_or_the_format(ci):
    ci.add_asset("interview.wav", b"RIFF", type="Audio")
    ci.add_asset("cpb-aacip-12-34.transcript", b"text", type="Document", format="txt")
    ci.add_asset("mystery.zzz9", b"?", type="Other", format="")
    ci.add_asset("still.jpg", b"\xff\xd8", type="Image", size=None)

    (page,) = SonyCi(account(ci)).pages(ci.workspace_id)

    assert [(item.kind, item.size, item.mime) for item in page] == [
        ("Audio", 4, "audio/x-wav"),
        ("Document", 4, "text/plain"),
        ("Other", 1, ""),
        ("Image", 2, "image/jpeg"),
    ]


def test_an_empty_workspace_yields_no_page(ci):
    assert list(SonyCi(account(ci)).pages(ci.workspace_id)) == []
    assert ci.hits[ci.contents_path()] == 1


def test_a_page_exactly_full_at_the_count_ends_the_listing(ci):
    ci.add_assets(200)
    assert [len(page) for page in SonyCi(account(ci)).pages(ci.workspace_id)] == [100, 100]
    assert ci.hits[ci.contents_path()] == 2


def test_a_server_capping_the_limit_loses_no_asset(ci):
    ci.max_limit = 40
    assets = ci.add_assets(90)

    pages = list(SonyCi(account(ci)).pages(ci.workspace_id))

    assert [len(page) for page in pages] == [40, 40, 10]
    assert [item.asset_id for page in pages for item in page] == [asset.asset_id for asset in assets]


def test_folders_in_a_page_are_skipped(ci):
    ci.add_asset("Workspace", type="Folder", kind="Folder")
    ci.add_asset("cpb-aacip-1-2.mp4", b"video")

    (page,) = SonyCi(account(ci)).pages(ci.workspace_id)

    assert [item.name for item in page] == ["cpb-aacip-1-2.mp4"]


def test_the_token_is_got_once_and_sent_as_a_bearer(ci):
    ci.add_assets(250)
    client = SonyCi(account(ci))

    list(client.pages(ci.workspace_id))
    client.download_url(ci.assets[0].asset_id)

    assert ci.hits["/oauth2/token"] == 1
    assert ci.tokens_issued == 1


def test_a_401_gets_a_new_token_once_and_the_listing_goes_on(ci):
    ci.add_assets(250)
    client = SonyCi(account(ci))
    pages = client.pages(ci.workspace_id)

    first = next(pages)
    ci.revoke_tokens()
    rest = list(pages)

    assert [len(page) for page in [first, *rest]] == [100, 100, 50]
    assert ci.hits["/oauth2/token"] == 2
    assert ci.hits[ci.contents_path()] == 4  # page 2 twice: refused, then answered with the new token


def test_a_second_401_in_a_row_is_a_sentence_about_the_credentials(ci):
    ci.add_assets(5)
    ci.fail_page(0, 401, times=2)

    with pytest.raises(SonyCiError) as refused:
        list(SonyCi(account(ci)).pages(ci.workspace_id))

    message = str(refused.value)
    assert "page 1 (offset 0) of workspace" in message
    assert "check the source's Sony Ci credentials" in message
    assert ci.hits["/oauth2/token"] == 2
    assert_no_secret(ci, message)


def test_a_wrong_password_is_refused_with_no_secret_in_the_sentence(ci):
    ci.add_assets(3)
    wrong = account(ci, password="not-the-password-5521")

    with pytest.raises(SonyCiError) as refused:
        list(SonyCi(wrong).pages(ci.workspace_id))

    message = str(refused.value)
    assert message.startswith(f"Sony Ci refused the credentials of user {ci.username!r}")
    assert "400 (invalid_grant)" in message
    assert "check the source's Sony Ci credentials" in message
    for secret in ("not-the-password-5521", ci.password, ci.client_secret):
        assert secret not in message
        assert secret not in repr(wrong)
    assert ci.hits[ci.contents_path()] == 0


def test_a_wrong_client_secret_is_refused_as_sony_ci_does_it(ci):
    wrong = account(ci, client_secret="not-the-client-secret-0042")

    with pytest.raises(SonyCiError) as refused:
        SonyCi(wrong).download_url("anything")

    message = str(refused.value)
    assert "401 (invalid_client)" in message
    assert "not-the-client-secret-0042" not in message
    assert_no_secret(ci, message)


def test_a_500_on_page_2_names_the_page_the_offset_the_workspace_and_the_status(ci):
    ci.add_assets(250)
    ci.fail_page(100, 500)
    pages = SonyCi(account(ci)).pages(ci.workspace_id)

    assert len(next(pages)) == 100
    with pytest.raises(SonyCiError) as failed:
        next(pages)

    assert str(failed.value) == (
        f"Sony Ci answered 500 for page 2 (offset 100) of workspace {ci.workspace_id}; try the sync again later."
    )
    assert_no_secret(ci, str(failed.value))
    assert failed.value.__context__ is None


def test_a_fault_answers_once_so_the_next_sync_gets_every_page(ci):
    ci.add_assets(250)
    ci.fail_page(200, 503)
    client = SonyCi(account(ci))

    with pytest.raises(SonyCiError, match=r"answered 503 for page 3 \(offset 200\)"):
        list(client.pages(ci.workspace_id))
    assert sum(len(page) for page in client.pages(ci.workspace_id)) == 250


def test_a_page_that_is_not_json_is_a_sentence(ci):
    ci.add_assets(150)
    ci.fail_page(100, 200, body=b"<html>Service Unavailable</html>")

    with pytest.raises(SonyCiError) as failed:
        list(SonyCi(account(ci)).pages(ci.workspace_id))

    assert str(failed.value) == (
        f"Sony Ci answered 200 for page 2 (offset 100) of workspace {ci.workspace_id} but not with a JSON object; "
        "try the sync again later."
    )


def test_a_page_that_hangs_past_the_timeout_is_a_sentence(ci):
    ci.add_assets(150)
    ci.hang_page(100, 10)

    with pytest.raises(SonyCiError) as failed:
        list(SonyCi(account(ci, timeout=0.5)).pages(ci.workspace_id))

    assert str(failed.value) == (
        f"Sony Ci did not answer within 0.5 seconds for page 2 (offset 100) of workspace {ci.workspace_id}; "
        "try the sync again later."
    )
    assert failed.value.__cause__ is None and failed.value.__suppress_context__  # no requests' traceback in a log


def test_an_unknown_workspace_says_to_check_its_id(ci):
    with pytest.raises(SonyCiError) as failed:
        list(SonyCi(account(ci)).pages("no-such-workspace"))

    assert str(failed.value) == (
        "Sony Ci answered 404 for page 1 (offset 0) of workspace no-such-workspace: it does not exist or the "
        "account cannot see it; check the source's Sony Ci workspace id."
    )


def test_a_refused_connection_is_a_sentence():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    nobody = SonyCiAccount(
        username="curator@example.org",
        password="pw-never-shown",
        client_id="id",
        client_secret="secret-never-shown",
        api_url=f"http://127.0.0.1:{port}",
        token_url=f"http://127.0.0.1:{port}/oauth2/token",
        timeout=2,
    )

    with pytest.raises(SonyCiError) as failed:
        list(SonyCi(nobody).pages("ws"))

    assert str(failed.value) == (
        f"Chowda could not connect to Sony Ci's sign-in service at 127.0.0.1:{port}; check the network and the "
        "source's Sony Ci token URL, then try the sync again."
    )


def test_a_failing_sign_in_service_is_a_sentence(ci):
    ci.fail_token(502)

    with pytest.raises(SonyCiError) as failed:
        list(SonyCi(account(ci)).pages(ci.workspace_id))

    assert str(failed.value) == f"Sony Ci's sign-in service at {ci.url[7:]} answered 502; try the sync again later."


def test_download_url_is_a_signed_link_that_fetches_the_bytes(ci):
    asset = ci.add_asset("cpb-aacip-123-45678.mp4", b"\x00\x00\x00\x18ftypmp42 media bytes")

    location = SonyCi(account(ci)).download_url(asset.asset_id)

    assert location.startswith(f"{ci.url}/signed/{asset.asset_id}?Expires=")
    assert "Signature=" in location
    fetched = requests.get(location, timeout=5)
    assert fetched.status_code == 200
    assert fetched.content == asset.data
    assert fetched.headers["Content-Type"] == "video/mp4"
    part = requests.get(location, headers={"Range": "bytes=4-7"}, timeout=5)
    assert (part.status_code, part.content) == (206, b"ftyp")
    tampered = location.replace("Signature=", "Signature=x")
    assert requests.get(tampered, timeout=5).status_code == 403
    expired = ci.signed_location(asset.asset_id, expires=1)
    assert requests.get(expired, timeout=5).status_code == 403


def test_download_url_of_a_removed_asset_says_to_sync_again(ci):
    asset = ci.add_asset("cpb-aacip-1-1.mp4", b"gone soon")
    ci.remove_asset(asset.asset_id)

    with pytest.raises(SonyCiError) as failed:
        SonyCi(account(ci)).download_url(asset.asset_id)

    assert str(failed.value) == (
        f"Sony Ci answered 404 for the download link of asset {asset.asset_id}: it does not exist or the account "
        "cannot see it; the asset may have been deleted or moved, so sync the source again."
    )


def test_removed_assets_are_gone_from_the_next_listing(ci):
    assets = ci.add_assets(3)
    ci.remove_asset(assets[1].asset_id)

    (page,) = SonyCi(account(ci)).pages(ci.workspace_id)

    assert [item.asset_id for item in page] == [assets[0].asset_id, assets[2].asset_id]


def test_the_client_and_the_account_keep_their_secrets_out_of_repr(ci):
    client = SonyCi(account(ci))
    list(client.pages(ci.workspace_id))
    for text in (repr(client), repr(client.account)):
        assert_no_secret(ci, text)
        assert ci.username in text

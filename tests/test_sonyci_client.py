"""The Sony Ci client against the loopback stand-in: paging, the token, and a sentence for every failure."""

import socket
import time
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


def test_a_server_answering_another_offset_stops_the_listing_with_a_sentence(ci):
    ci.add_assets(250)
    ci.ignore_offset = True

    with pytest.raises(SonyCiError) as failed:
        list(SonyCi(account(ci)).pages(ci.workspace_id))

    assert str(failed.value) == (
        f"Sony Ci answered page 2 (offset 100) of workspace {ci.workspace_id} with the page at offset 0 instead; "
        "try the sync again later."
    )


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
        password="pw-never-shown",  # pragma: allowlist secret
        client_id="id",
        client_secret="secret-never-shown",  # pragma: allowlist secret
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


def test_a_token_near_its_expiry_is_renewed_before_it_is_refused(ci):
    ci.token_lifetime = 1  # the client renews after half of it, as its margin is larger than the lifetime
    asset = ci.add_asset("cpb-aacip-1-1.mp4", b"media")
    client = SonyCi(account(ci))

    client.download_url(asset.asset_id)
    time.sleep(0.6)
    client.download_url(asset.asset_id)

    assert ci.hits["/oauth2/token"] == 2
    assert ci.hits[f"/assets/{asset.asset_id}/download"] == 2  # never refused


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (
            302,
            b"",
            {"Location": "https://login.example.net/oauth?next=1"},
            "{where} answered 302, a redirect to login.example.net; Chowda does not send credentials on a redirect, "
            "so check the source's Sony Ci token URL.",
        ),
        (
            200,
            b'{"token_type": "bearer"}',
            {},
            "{where} answered 200 without an access token, which is not what Sony Ci sends; check the source's "
            "Sony Ci token URL.",
        ),
        (
            200,
            b"<html>portal</html>",
            {},
            "{where} answered 200 without an access token, which is not what Sony Ci sends; check the source's "
            "Sony Ci token URL.",
        ),
        (
            403,
            b"<html>denied</html>",
            {},
            "Sony Ci refused the credentials of user 'curator@example.org': the sign-in answered 403; check the "
            "source's Sony Ci credentials (username, password, client id and client secret).",
        ),
        (
            401,
            b'{"error": "see https://evil.example/?leak=standin-client-secret-91c2"}',
            {},
            "Sony Ci refused the credentials of user 'curator@example.org': the sign-in answered 401; check the "
            "source's Sony Ci credentials (username, password, client id and client secret).",
        ),
    ],
)
def test_an_odd_sign_in_answer_is_a_sentence(ci, status, body, headers, expected):
    ci.fail_token(status, body=body, headers=headers)

    with pytest.raises(SonyCiError) as failed:
        list(SonyCi(account(ci)).pages(ci.workspace_id))

    assert str(failed.value) == expected.format(where=f"Sony Ci's sign-in service at {ci.url[7:]}")
    assert_no_secret(ci, str(failed.value))


def test_a_sign_in_that_hangs_past_the_timeout_is_a_sentence():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts the connection, never answers
        port = silent.getsockname()[1]
        mute = SonyCiAccount("u", "p", "i", "s", f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/t", 0.3)

        with pytest.raises(SonyCiError) as failed:
            SonyCi(mute).download_url("a1")

    assert str(failed.value) == (
        f"Sony Ci's sign-in service at 127.0.0.1:{port} did not answer within 0.3 seconds; try the sync again later."
    )


def test_a_refused_api_connection_after_sign_in_is_a_sentence(ci):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

    with pytest.raises(SonyCiError) as failed:
        SonyCi(account(ci, api_url=f"http://127.0.0.1:{port}")).download_url("a1")

    assert str(failed.value) == (
        f"Chowda could not connect to Sony Ci at 127.0.0.1:{port} for the download link of asset a1; check the "
        "network and the source's Sony Ci API URL, then try again."
    )


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (
            403,
            None,
            {},
            "Sony Ci answered 403 for {what}: the account may not read it; ask a Sony Ci administrator to give user "
            "'curator@example.org' access.",
        ),
        (
            429,
            None,
            {"Retry-After": "18"},
            "Sony Ci is limiting Chowda's requests (429) at {what}; try again in 18 seconds.",
        ),
        (429, None, {}, "Sony Ci is limiting Chowda's requests (429) at {what}; try again later."),
        (
            303,
            b"",
            {"Location": "/elsewhere?sig=abc"},
            "Sony Ci answered 303 for {what}, a redirect to an address without a host; Chowda does not send its token "
            "on a redirect, so check the source's Sony Ci API URL.",
        ),
        (
            308,
            b"",
            {"Location": "http://elsewhere:99999999/"},
            "Sony Ci answered 308 for {what}, a redirect to an unreadable address; Chowda does not send its token "
            "on a redirect, so check the source's Sony Ci API URL.",
        ),
        (
            307,
            b"",
            {"Location": "http://0.0.0.0:9/elsewhere"},
            "Sony Ci answered 307 for {what}, a redirect to 0.0.0.0:9; Chowda does not send its token on a redirect, "
            "so check the source's Sony Ci API URL.",
        ),
        (
            200,
            b'{"limit": 100, "offset": 0, "count": 3, "items": "none"}',
            {},
            "Sony Ci answered {what} without a list of items; try the sync again later.",
        ),
        (
            200,
            b"[1, 2, 3]",
            {},
            "Sony Ci answered 200 for {what} but not with a JSON object; try the sync again later.",
        ),
    ],
)
def test_an_odd_page_answer_is_a_sentence(ci, status, body, headers, expected):
    ci.add_assets(3)
    ci.fail_page(0, status, body=body, headers=headers)

    with pytest.raises(SonyCiError) as failed:
        list(SonyCi(account(ci)).pages(ci.workspace_id))

    assert str(failed.value) == expected.format(what=f"page 1 (offset 0) of workspace {ci.workspace_id}")


def test_entries_without_an_id_or_not_objects_are_skipped_and_the_rest_kept(ci, caplog):
    body = (
        b'{"limit": 100, "offset": 0, "count": 4, "items": ['
        b'{"id": "a1", "name": "cpb-aacip-1.mp4", "type": "Video", "size": 7, "kind": "Asset"},'
        b'{"name": "no-id.mp4", "kind": "Asset"}, "a string", '
        b'{"id": "a4", "name": null, "type": 5, "size": true, "format": "mp3"}]}'
    )
    ci.fail_page(0, 200, body=body)

    (page,) = SonyCi(account(ci)).pages(ci.workspace_id)

    assert page == [
        SonyCiItem("a1", "cpb-aacip-1.mp4", "Video", 7, "video/mp4"),
        SonyCiItem("a4", "", "", None, "audio/mpeg"),
    ]
    assert "an asset without an id on page 1 (offset 0)" in caplog.text
    assert "something other than an object on page 1 (offset 0)" in caplog.text


def test_a_page_without_a_count_ends_at_a_short_page(ci):
    ci.fail_page(0, 200, body=b'{"items": [' + b",".join([b'{"id": "x", "name": "x.mp4"}'] * 100) + b"]}")
    ci.fail_page(100, 200, body=b'{"offset": 100, "items": [{"id": "y", "name": "y.mp4"}]}')

    pages = list(SonyCi(account(ci)).pages(ci.workspace_id))

    assert [len(page) for page in pages] == [100, 1]


def test_a_download_answer_without_a_link_is_a_sentence(ci):
    ci.fail_download("a1", 200, body=b'{"id": "a1", "location": "ftp://elsewhere/a1"}')

    with pytest.raises(SonyCiError) as failed:
        SonyCi(account(ci)).download_url("a1")

    assert (
        str(failed.value)
        == "Sony Ci answered the download link of asset a1 without a link to download; try again later."
    )


def test_a_download_that_fails_says_to_try_again(ci):
    ci.fail_download("a1", 502)

    with pytest.raises(
        SonyCiError, match=r"^Sony Ci answered 502 for the download link of asset a1; try again later\.$"
    ):
        SonyCi(account(ci)).download_url("a1")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda client: list(client.pages("")), "The source has no Sony Ci workspace id; set it before syncing."),
        (
            lambda client: list(client.pages("ws", page_size=0)),
            "A page of Sony Ci assets must hold at least one asset, not 0.",
        ),
        (
            lambda client: client.download_url(""),
            "A Sony Ci download link needs an asset id; this media file has none, so sync the source again.",
        ),
    ],
)
def test_missing_ids_are_sentences_before_any_request(ci, call, expected):
    with pytest.raises(SonyCiError) as failed:
        call(SonyCi(account(ci)))

    assert str(failed.value) == expected
    assert not ci.requests


def test_workspace_and_asset_ids_cannot_leave_their_path_segment(ci):
    with pytest.raises(SonyCiError):
        SonyCi(account(ci)).download_url("../workspaces/x/contents")

    assert [path for _method, path, _query in ci.requests][-1] == "/assets/..%2Fworkspaces%2Fx%2Fcontents/download"

"""Serve a demo CLAMS app over HTTP with werkzeug's threaded server.

    python -m demo_apps.serve segmenter --port 5101 [--host 127.0.0.1]
    python -m demo_apps.serve summarizer --port 5102

Prints "listening on http://host:port/" once it listens and stops cleanly on SIGTERM or SIGINT.
"""

import argparse
import signal
import threading
from collections.abc import Callable

from clams.app import ClamsApp
from clams.restify import Restifier
from werkzeug.serving import BaseWSGIServer, make_server

from demo_apps.segmenter import Segmenter
from demo_apps.summarizer import Summarizer

APPS: dict[str, type[ClamsApp]] = {"segmenter": Segmenter, "summarizer": Summarizer}


def make_app_server(app_name: str, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """A threaded server, already bound (port 0 picks a free one), for the demo app ``app_name``.

    Raises ``KeyError`` for a name not in ``APPS`` and ``OSError`` when the address is taken.
    """
    return make_server(host, port, Restifier(APPS[app_name]()).flask_app, threaded=True)


def serve_in_thread(app_name: str) -> tuple[str, Callable[[], None]]:
    """Serve the demo app ``app_name`` on a free loopback port in a background thread.

    Returns its base URL (ending in "/") and a function that stops the server and waits for the thread.
    """
    server = make_app_server(app_name)
    thread = threading.Thread(target=server.serve_forever, name=f"demo-{app_name}", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}/", stop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a demo CLAMS app of Chowda over HTTP.")
    parser.add_argument("app", choices=sorted(APPS), help="Which demo app to serve.")
    parser.add_argument("--port", type=int, default=5000, help="Port to listen on; 0 picks a free one.")
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on; 0.0.0.0 for every interface.")
    args = parser.parse_args(argv)
    server = make_app_server(args.app, args.host, args.port)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    thread = threading.Thread(target=server.serve_forever, name=f"demo-{args.app}")
    thread.start()
    print(f"listening on http://{args.host}:{server.server_port}/", flush=True)
    stopping.wait()
    server.shutdown()
    server.server_close()
    thread.join()


if __name__ == "__main__":
    main()

import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from batches.models import Batch
from chowda_site.celery import app as celery_app
from chowda_site.redis_server import RedisNotFound, redis_command
from chowda_site.running import AlreadyLaunched, LauncherRecord
from chowda_site.startup import DEVELOPMENT_KEY_REFUSED, using_development_key
from ops.launcher import Launcher, LaunchError, Service, listening, python_module
from ops.management.commands.seed_demo import BATCH

DEMO_APPS = [("segmenter", "Demo segmenter"), ("summarizer", "Demo summarizer")]


class Command(BaseCommand):
    help = (
        "Start Chowda in the foreground: an embedded Redis (unless CHOWDA_REDIS_URL is set), Daphne and a "
        "Celery worker; with --demo also the demo CLAMS apps and demo data. Ctrl-C stops everything."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("CHOWDA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("CHOWDA_PORT", "8000")))
        parser.add_argument("--redis-port", type=int, default=int(os.environ.get("CHOWDA_REDIS_PORT", "6380")))
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.CELERY_WORKER_CONCURRENCY,
            help="Worker threads, i.e. app calls in flight at once.",
        )
        parser.add_argument("--demo", action="store_true", help="Also start the demo apps and seed demo data.")
        parser.add_argument(
            "--demo-port",
            type=int,
            default=int(os.environ.get("CHOWDA_DEMO_PORT", "5101")),
            help="Port of the first demo app; the second takes the next one.",
        )
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=settings.VAR_DIR,
            help="Where the embedded Redis keeps its data and the services their logs.",
        )

    def handle(self, *args, data_dir, **options):
        if using_development_key():  # every child would refuse it: say so once, before starting any
            raise CommandError(DEVELOPMENT_KEY_REFUSED)
        try:
            record = LauncherRecord(data_dir)
        except AlreadyLaunched as exc:
            raise CommandError(str(exc)) from None
        with record:  # commands in other terminals find the Redis there while this runs
            self._launch(record, data_dir=data_dir, **options)

    def _launch(self, record, *, host, port, redis_port, concurrency, demo, demo_port, data_dir, **options):
        launcher = Launcher(self.stdout.write, data_dir / "logs")
        try:
            self.stdout.write("Starting Chowda:")
            self._redis(launcher, redis_port, data_dir)
            record.write(settings.REDIS_URL)
            call_command("migrate", verbosity=0, interactive=False)
            call_command("collectstatic", verbosity=0, interactive=False)
            app_urls = self._demo_apps(launcher, demo_port) if demo else {}
            if demo:
                # The demo delivers to a folder beside its data, and its media are there too (served to the
                # player, read for thumbnails); Daphne and the worker read these from the environment.
                os.environ.setdefault("CHOWDA_DELIVERY_DESTINATIONS", f"demo={data_dir / 'deliveries'}")
                os.environ.setdefault("CHOWDA_SERVED_MEDIA_ROOT", str((data_dir / "demo-media").resolve()))
                os.environ.setdefault("CHOWDA_MEDIA_FILE_ROOTS", str((data_dir / "demo-media").resolve()))
            launcher.need_port("Daphne", host, port, "--port or CHOWDA_PORT")
            launcher.start(
                Service(
                    "Daphne (web, websockets)",
                    python_module("daphne", "-b", host, "-p", str(port), "chowda_site.asgi:application"),
                    f"http://{host}:{port}/",
                    listening(host, port),
                )
            )
            worker_name = f"chowda-{os.getpid()}@%h"
            launcher.start(
                Service(
                    "Celery worker",
                    python_module(
                        "celery",
                        "-A",
                        "chowda_site",
                        "worker",
                        "--pool",
                        "threads",
                        "--concurrency",
                        str(concurrency),
                        "--loglevel",
                        "INFO",
                        "-n",
                        worker_name,
                    ),
                    f"{concurrency} threads on {settings.REDIS_URL}",
                    lambda: bool(celery_app.control.ping(timeout=0.5)),
                ),
                timeout=60,
            )
            # Exactly one beat: it sends the schedules' ticks (sources/), read from the database.
            launcher.start(
                Service(
                    "Celery beat (schedules)",
                    python_module("celery", "-A", "chowda_site", "beat", "--loglevel", "INFO"),
                    "schedules from the database",
                    lambda: True,
                )
            )
            if demo:
                call_command(
                    "seed_demo",
                    segmenter_url=app_urls["segmenter"],
                    summarizer_url=app_urls["summarizer"],
                    media_dir=data_dir / "demo-media",
                    stdout=self.stdout,
                )
        except (LaunchError, RedisNotFound) as exc:
            launcher.stop_all()
            raise CommandError(str(exc)) from None
        except BaseException:
            launcher.stop_all()
            raise
        opening = f"http://{host}:{port}/admin/"
        if demo:
            opening = f"http://{host}:{port}/batches/{Batch.objects.get(name=BATCH).pk}/live/ (log in as admin)"
        self.stdout.write(f"\nChowda is running: open {opening} — Ctrl-C stops it.")
        if data_dir.resolve() == Path(settings.VAR_DIR).resolve():
            self.stdout.write(
                "Commands run from this folder (manage.py start_batch, import_media, …) reach it as they are."
            )
        self.stdout.write(f"Other tools and folders reach it with: export CHOWDA_REDIS_URL={settings.REDIS_URL}")
        if launcher.watch():
            raise CommandError("Chowda stopped because one of its services did (see above and the logs).")

    def _redis(self, launcher: Launcher, port: int, data_dir: Path) -> None:
        if os.environ.get("CHOWDA_REDIS_URL"):
            self.stdout.write(f"  {'Redis (external)':<28} {settings.REDIS_URL}")
            return
        launcher.need_port("Redis", "127.0.0.1", port, "--redis-port or CHOWDA_REDIS_PORT")
        url = f"redis://127.0.0.1:{port}/0"
        # appendonly: queued work survives a restart.
        command = redis_command(port, data_dir / "redis", durable=True)
        launcher.start(Service("Redis (embedded)", command, url, listening("127.0.0.1", port)))
        # Children read it from the environment; this process uses it to ping the worker.
        os.environ["CHOWDA_REDIS_URL"] = url
        settings.REDIS_URL = url
        celery_app.conf.update(broker_url=url, result_backend=url)

    def _demo_apps(self, launcher: Launcher, first_port: int) -> dict[str, str]:
        urls = {}
        for offset, (app, label) in enumerate(DEMO_APPS):
            port = first_port + offset
            launcher.need_port(label, "127.0.0.1", port, "--demo-port or CHOWDA_DEMO_PORT")
            urls[app] = f"http://127.0.0.1:{port}/"
            launcher.start(
                Service(
                    f"{label} (CLAMS app)",
                    python_module("demo_apps.serve", app, "--host", "127.0.0.1", "--port", str(port)),
                    urls[app],
                    listening("127.0.0.1", port),
                )
            )
        return urls

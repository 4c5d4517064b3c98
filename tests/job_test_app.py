"""A CLAMS app for the tests of apps run as commands: copied as ``app.py`` beside the clams-python template's own
``cli.py`` (tests/test_apps_as_commands.py, ``job_app``), so it runs exactly as a published app's cli.py does.

Its ``behaviour`` parameter picks what it does with a file: tag it (one TimeFrame), fail (an error view), hang
(after starting a child of its own, until it is killed), hang once then tag, or exit without writing its output.
With ``pidDir`` it writes its pid and its child's there, for the test to see them end.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from clams.app import ClamsApp
from clams.appmetadata import AppMetadata
from mmif import AnnotationTypes, DocumentTypes

BEHAVIOURS = ["tag", "fail", "hang", "hang_once", "no_output", "wait_for_go"]


def appmetadata() -> AppMetadata:
    metadata = AppMetadata(
        name="Job Tester",
        description="Tags, fails, hangs or writes nothing, as a test asks.",
        app_license="MIT",
        identifier="http://apps.chowda.test/job-tester",
        url="http://apps.chowda.test/job-tester",
        app_version="v1",
    )
    metadata.add_input(DocumentTypes.AudioDocument)
    metadata.add_output(AnnotationTypes.TimeFrame)
    metadata.add_parameter(
        name="behaviour", type="string", default="tag", choices=BEHAVIOURS, description="What to do."
    )
    metadata.add_parameter(name="label", type="string", default="x", description="The TimeFrame's label.")
    metadata.add_parameter(name="pidDir", type="string", default="", description="Where to write pids.")
    metadata.add_parameter(
        name="labelMap", type="map", multivalued=True, default=[], description="Labels to rename, as KEY:VALUE."
    )
    return metadata


class JobTester(ClamsApp):
    def _appmetadata(self) -> AppMetadata:
        return appmetadata()

    def _annotate(self, mmif, **parameters):
        behaviour, pid_dir = parameters["behaviour"], parameters["pidDir"]
        if behaviour == "fail":
            raise RuntimeError("the test app failed on purpose")
        if behaviour == "no_output":
            print("ran out of memory decoding the audio", file=sys.stderr, flush=True)
            os._exit(3)
        if behaviour == "hang" or (behaviour == "hang_once" and not (Path(pid_dir) / "hung").exists()):
            child = subprocess.Popen(["sleep", "3600"])
            (Path(pid_dir) / "hung").touch()
            (Path(pid_dir) / "pids").write_text(f"{os.getpid()} {child.pid}")
            while True:
                time.sleep(1)
        if behaviour == "wait_for_go":  # works until the test says go (a file "go" in pidDir)
            (Path(pid_dir) / "pids").write_text(str(os.getpid()))
            while not (Path(pid_dir) / "go").exists():
                time.sleep(0.1)
        label = parameters["label"]
        renames = parameters["labelMap"]  # clams-python gives a map parameter as a dict
        view = mmif.new_view()
        self.sign_view(view, parameters)
        view.new_contain(AnnotationTypes.TimeFrame, timeUnit="milliseconds")
        view.new_annotation(AnnotationTypes.TimeFrame, start=0, end=1000, label=renames.get(label, label))
        return mmif


def get_app() -> JobTester:
    return JobTester()

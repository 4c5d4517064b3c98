"""
The purpose of this file is to define the metadata of the app with minimal imports.

DO NOT CHANGE the name of the file
"""

from clams.app import ClamsApp
from clams.appmetadata import AppMetadata

from demo_apps.summarizer import appmetadata as summarizer_metadata


# DO NOT CHANGE the function name
def appmetadata() -> AppMetadata:
    return summarizer_metadata()


# DO NOT CHANGE the main block
if __name__ == "__main__":
    import sys

    metadata = appmetadata()
    for param in ClamsApp.universal_parameters:
        metadata.add_parameter(**param)
    sys.stdout.write(metadata.jsonify(pretty=True))

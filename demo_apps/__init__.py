"""Demo CLAMS apps that do real work on WAV audio without model weights: a segmenter and a summarizer.

Serve one with ``python -m demo_apps.serve segmenter --port 5101`` (see :mod:`demo_apps.serve`).
"""

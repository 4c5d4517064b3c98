"""Demo CLAMS apps that do real work on WAV audio without model weights: a segmenter and a summarizer.

Serve one with ``python -m clams_apps.demo.serve segmenter --port 5101`` (see :mod:`clams_apps.demo.serve`).
"""

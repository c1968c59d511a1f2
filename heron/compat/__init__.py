"""Code written for the tools heron replaces runs with one import changed.

``mona_client`` becomes ``heron.compat.mona_client``; every other line stays as the tool's
documentation shows it. Each shim maps the tool's names onto heron's own API and adds no
second implementation of anything: what differs on purpose is listed in docs/client.md.
"""

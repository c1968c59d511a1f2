"""mona-client's names on heron: ``from heron.compat.mona_client import client``.

See :mod:`heron.compat.mona_client.client` and docs/client.md ("Coming from Mona").
"""

"""One client of the fleet test: ``python fleet_client.py URL TOKEN APP COUNT SPOOL``.

Exports COUNT events ``{"i": i}`` as APP to the heron server (a load balancer) at URL,
waits until every one has left its spool, and prints ``delivered COUNT``."""

import sys
import time

import heron

url, token, app, count, spool = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
    sys.argv[5]
heron.init(url, token=token, app=app, spool_dir=spool)
for i in range(count):
    heron.export({"i": i})
    if i % 20_000 == 0:
        print(f"exported {i}", flush=True)
heron.flush(300)
deadline = time.monotonic() + 300
while heron.stats()["spool_bytes"] and time.monotonic() < deadline:
    time.sleep(0.1)
stats = heron.stats()
heron.shutdown()
print(f"delivered {count} spool_bytes={stats['spool_bytes']} dropped={stats['dropped']} "
      f"retried={stats['retried']}", flush=True)

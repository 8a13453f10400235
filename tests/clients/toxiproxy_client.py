"""Drives `headroom proxy` with toxiproxy-python (PyPI 0.1.1), the way a
Toxiproxy user's test suite would. Each step prints one JSON line; the Rust
test (tests/chaos.rs) reads them and measures the effect between steps.

usage: toxiproxy_client.py API_PORT UPSTREAM STEP
  STEP: create  — a proxy "web" to UPSTREAM and a 100 ms latency toxic
        inspect — the proxy and its toxics as the client sees them
        heal    — the toxic destroyed, the proxy disabled and enabled,
                  the server reset
        destroy — the proxy destroyed
"""
import json
import sys

from toxiproxy import Toxiproxy

api_port, upstream, step = int(sys.argv[1]), sys.argv[2], sys.argv[3]
server = Toxiproxy()
server.update_api_consumer("127.0.0.1", api_port)
assert server.running(), "the API does not accept connections"

if step == "create":
    proxy = server.create(name="web", upstream=upstream)
    proxy.add_toxic(type="latency", attributes={"latency": 100})
    print(json.dumps({"listen": proxy.listen, "enabled": proxy.enabled,
                      "version": server.version().decode()}))
elif step == "inspect":
    proxy = server.get_proxy("web")
    toxics = proxy.toxics()
    t = toxics["latency_downstream"]
    print(json.dumps({"proxies": sorted(server.proxies()), "toxics": sorted(toxics),
                      "type": t.type, "stream": t.stream, "toxicity": t.toxicity,
                      "attributes": t.attributes}))
elif step == "heal":
    proxy = server.get_proxy("web")
    proxy.destroy_toxic("latency_downstream")
    with proxy.down():
        down = server.get_proxy("web").enabled
    up = server.get_proxy("web").enabled
    server.reset()
    print(json.dumps({"toxics": sorted(proxy.toxics()), "down": down, "up": up}))
elif step == "destroy":
    server.destroy(server.get_proxy("web"))
    print(json.dumps({"proxies": sorted(server.proxies())}))

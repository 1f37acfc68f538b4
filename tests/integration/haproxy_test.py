"""Herald behind Debian's haproxy with deploy/haproxy.cfg: wss:// to haproxy, ws:// to the
broker, the client address in a PROXY v2 header. The tests are in proxies.py."""

import harness  # noqa: F401 (first: it takes --herald PATH out of sys.argv)
import proxies


class HaproxyTest(proxies.ProxyCase):
    PROXY = proxies.Haproxy


if __name__ == "__main__":
    proxies.main()

"""Herald behind Debian's nginx with deploy/nginx.conf: wss:// to nginx, ws:// to the broker,
the client address in X-Forwarded-For. The tests are in proxies.py."""

import harness  # noqa: F401 (first: it takes --herald PATH out of sys.argv)
import proxies


class NginxTest(proxies.ProxyCase):
    PROXY = proxies.Nginx


if __name__ == "__main__":
    proxies.main()

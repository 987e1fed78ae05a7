"""HTTP probes of the stack role, run on the host (one process instead of one task per try).

    stack_probe.py --timeout S [--header NAME=VALUE] [--checks N --interval S] URL...

First waits (up to --timeout seconds) until every URL answers 200 (and carries the header,
when given); then, with --checks, makes N more rounds --interval seconds apart in which
every URL must still do so. Prints what it saw as JSON; exit status 0 on success, 1 otherwise.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def probe(url, header):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - http:// URLs the role built
            status, headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        status, headers = error.code, error.headers
    except Exception as error:  # refused, reset, timed out: not healthy (yet)
        return False, f"{type(error).__name__}: {error}"
    if status != 200:
        return False, f"HTTP {status}"
    if header and headers.get(header[0], "") != header[1]:
        return False, f"{header[0]}: {headers.get(header[0], '')!r}"
    return True, "HTTP 200"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--header", default="")
    parser.add_argument("--checks", type=int, default=0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    header = tuple(args.header.split("=", 1)) if args.header else None

    deadline = time.monotonic() + args.timeout
    pending = {url: "not tried" for url in args.urls}
    while pending:
        for url in list(pending):
            ok, seen = probe(url, header)
            if ok:
                del pending[url]
            else:
                pending[url] = seen
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if pending:
        print(json.dumps({"healthy": False, "waited": args.timeout, "failing": pending}))
        return 1
    for check in range(args.checks):
        time.sleep(args.interval)
        for url in args.urls:
            ok, seen = probe(url, header)
            if not ok:
                print(json.dumps({"healthy": False, "check": check + 1, "of": args.checks, "failing": {url: seen}}))
                return 1
    print(json.dumps({"healthy": True, "urls": args.urls, "checks": args.checks}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

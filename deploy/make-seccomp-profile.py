#!/usr/bin/env python3
"""Writes deploy/seccomp-herald.json: the container engine's default seccomp profile plus the
three io_uring system calls, which Docker's and podman's defaults refuse (ENOSYS).

The default profile comes from Debian's containers-common (podman's, derived from Docker's):
  deploy/make-seccomp-profile.py [SOURCE [OUTPUT]]
SOURCE defaults to /usr/share/containers/seccomp.json, OUTPUT to seccomp-herald.json beside
this script. Rerun it when the engine's default profile changes; nothing else is edited.
"""

import json
import os
import sys

IO_URING = ["io_uring_setup", "io_uring_enter", "io_uring_register"]


def unconditional_allow(rule):
    """The profile's main list: allowed for every argument, architecture and capability."""
    return (rule.get("action") == "SCMP_ACT_ALLOW" and not rule.get("args")
            and not rule.get("includes") and not rule.get("excludes"))


def add_io_uring(profile):
    rules = profile["syscalls"]
    # A rule that refuses io_uring explicitly (newer upstream profiles may) would win over the
    # allow list on some engines: take the names out of every refusing rule.
    for rule in rules:
        if rule.get("action") != "SCMP_ACT_ALLOW":
            rule["names"] = [n for n in rule["names"] if n not in IO_URING]
    profile["syscalls"] = [r for r in rules if r["names"]]
    allow = next((r for r in profile["syscalls"] if unconditional_allow(r)), None)
    if allow is None:
        sys.exit("make-seccomp-profile: no unconditional SCMP_ACT_ALLOW rule in the source")
    allow["names"] = sorted(set(allow["names"]) | set(IO_URING))
    return profile


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    source = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/containers/seccomp.json"
    output = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "seccomp-herald.json")
    with open(source) as f:
        profile = add_io_uring(json.load(f))
    with open(output, "w") as f:
        json.dump(profile, f, indent=2)
        f.write("\n")
    print("make-seccomp-profile: wrote %s from %s" % (output, source))


if __name__ == "__main__":
    main()

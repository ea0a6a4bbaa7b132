#!/usr/bin/env python3
"""race_harness.py - the write-after-decision race against gated (used by
test_gated_race.sh; not a test by itself).

Usage: race_harness.py ITERATIONS GOOD EVIL FILE...

Each iteration execs one of FILE (round robin over those still usable) and,
from another thread, opens that file for writing (blocking, or 3 in 10
O_NONBLOCK), pwrites EVIL's bytes over it (the same size as GOOD) and
closes it: the attack of docs/EXEC.md class 1. Half the writes come 0-5 ms
after the fork, half as soon as the child is seen inside execve (waiting
for gated's answer, /proc/PID/syscall), which on a daemon without the
guard lands inside the decision almost every time. GOOD exits 0, EVIL exits 1: a run that
exits non-zero ran bytes that were not the ones decided. It counts as
ran_modified (a write inside the decision: must be 0) when the write was
complete while the exec still waited in execve, else as
ran_modified_after_exec: on kernels that no longer deny writes to a running
binary (6.11's "don't block i_writecount during exec"; this test's 6.18),
a write after execve returned reaches text pages the program has not run
yet, which no answer to FAN_OPEN_EXEC_PERM can prevent (docs/EXEC.md). A file the writer
changed is put back (one FILE) or set aside (several FILEs: the cache path,
where a changed file would only be decided again). Prints one JSON line of
counts: ran_good, ran_modified (must be 0), denied (EPERM), txtbsy (the
exec or the write got ETXTBSY), write_blocked (EWOULDBLOCK), wrote.
"""
import errno
import json
import os
import random
import sys
import threading
import time


EXECVE = {"x86_64": "59", "aarch64": "221"}.get(os.uname().machine)


def in_execve(pid):
    try:
        with open("/proc/%d/syscall" % pid) as f:
            return f.read().split(" ", 1)[0] == EXECVE
    except OSError:
        return False


def wait_in_execve(pid):
    """Until pid sits in execve (gated is deciding on its exec), at most
    50 ms: the write then lands inside the decision."""
    if not EXECVE:
        return
    end = time.monotonic() + 0.05
    while time.monotonic() < end:
        try:
            with open("/proc/%d/syscall" % pid) as f:
                if f.read().split(" ", 1)[0] == EXECVE:
                    return
        except OSError:
            return


def main():
    n = int(sys.argv[1])
    good = open(sys.argv[2], "rb").read()
    evil = open(sys.argv[3], "rb").read()
    files = list(sys.argv[4:])
    assert len(good) == len(evil), "GOOD and EVIL must be the same size"
    restore = len(files) == 1
    c = dict(ran_good=0, ran_modified=0, ran_modified_after_exec=0, denied=0, txtbsy=0, exec_other=0, wrote=0,
             write_txtbsy=0, write_blocked=0, write_other=0, set_aside=0, iterations=0)
    rnd = random.Random(int(os.environ.get("RACE_SEED", "15")))
    i = 0
    deadline = time.monotonic() + float(os.environ.get("RACE_MAX_SECONDS", "240"))
    while c["iterations"] < n and files and time.monotonic() < deadline:
        path = files[i % len(files)]
        i += 1
        delay = rnd.uniform(0.0, 0.005)
        wrote = []
        targeted = rnd.random() < 0.5
        nonblock = rnd.random() < 0.3
        pid = os.fork()
        if pid == 0:
            try:
                os.execv(path, [path])
            except OSError as e:
                os._exit({errno.EPERM: 201, errno.EACCES: 201, errno.ETXTBSY: 202}.get(e.errno, 203))

        def writer():
            if targeted:
                wait_in_execve(pid)
            else:
                time.sleep(delay)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | (os.O_NONBLOCK if nonblock else 0))
            except OSError as e:
                key = {errno.ETXTBSY: "write_txtbsy", errno.EWOULDBLOCK: "write_blocked"}
                c[key.get(e.errno, "write_other")] += 1
                return
            try:
                os.pwrite(fd, evil, 0)
                c["wrote"] += 1
            finally:
                os.close(fd)
            # Written and closed while the exec still waits for its
            # answer: inside the decision.
            wrote.append(in_execve(pid))

        t = threading.Thread(target=writer)
        t.start()
        _, st = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(st)
        key = {0: "ran_good", 201: "denied", 202: "txtbsy", 203: "exec_other"}
        late = code not in key and not (wrote and wrote[0])
        c[key.get(code, "ran_modified_after_exec" if late else "ran_modified")] += 1
        if code not in key and not late:
            c.setdefault("modified_codes", {}).setdefault(str(code), 0)
            c["modified_codes"][str(code)] += 1
            c.setdefault("modified_pids", []).append([pid, "targeted" if targeted else "%.1fms" % (delay * 1000), nonblock])
        t.join()
        c["iterations"] += 1
        if wrote:
            if restore:
                with open(path, "r+b") as f:
                    f.write(good)
            else:
                files.remove(path)
                c["set_aside"] += 1
    print(json.dumps(c, sort_keys=True))


main()

#!/usr/bin/env python3
"""Runs a command on a new pseudo-terminal (its controlling terminal) and answers prompts.

Usage: pty_run.py < spec.json
spec: {"cmd": [...], "env": {...}, "stdin_null": bool,
       "steps": [["text to wait for", "text to type"], ...], "pause": seconds before typing}
Prints {"code": exit code, "output": everything the terminal showed, "pending": unmet steps}.
"""
import json
import os
import pty
import select
import sys
import time


def main() -> None:
    spec = json.load(sys.stdin)
    pid, fd = pty.fork()
    if pid == 0:
        if spec.get("stdin_null"):
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
        os.execvpe(spec["cmd"][0], spec["cmd"], spec["env"])
    steps = list(spec.get("steps", []))
    out = b""
    seen = 0  # prompts are matched only in output after the previous answer
    deadline = time.time() + spec.get("timeout", 60)
    while time.time() < deadline:
        if steps and steps[0][0].encode() in out[seen:]:
            time.sleep(spec.get("pause", 0.3))  # let the prompt switch the terminal mode
            expect, answer = steps.pop(0)
            seen = out.index(expect.encode(), seen) + len(expect.encode())
            os.write(fd, answer.encode())
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break  # EIO: the child closed the terminal
            if not data:
                break
            out += data
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({
        "code": os.waitstatus_to_exitcode(status),
        "output": out.decode(errors="replace"),
        "pending": steps,
    }))


if __name__ == "__main__":
    main()

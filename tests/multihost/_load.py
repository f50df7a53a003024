"""
Steady load from the client host of the multi-host test, run there as
C{python -m tests.multihost._load HOST PORT CLIENTS RATE LIMIT STOPFILE OUT}:
CLIENTS threads, each one transaction at a time and at most RATE a second,
until STOPFILE exists or LIMIT seconds have passed; then one JSON line per
transaction in OUT: its request, start and end (C{time.monotonic}, the
same clock in every namespace), and the answer or the error.
"""

import json
import os
import socket
import sys
import threading
import time

#: Seconds a transaction may take before the client gives up on it: more
#: than HAProxy's "timeout server", so that HAProxy, not the client, decides.
TRANSACTION_TIMEOUT = 15.0


def transaction(host: str, port: int, request: str) -> tuple[str, str]:
    """
    One connection, one request, the answer read to the end.

    @return: the answer (empty if none), and an error (empty if none).
    """
    try:
        with socket.create_connection((host, port), timeout=TRANSACTION_TIMEOUT) as s:
            s.sendall(request.encode() + b"\0")
            chunks = []
            while chunk := s.recv(4096):
                chunks.append(chunk)
    except OSError as e:
        return "", f"{type(e).__name__}: {e}"
    answer = b"".join(chunks)
    return answer.decode("utf-8", "backslashreplace"), ""


def main() -> None:
    host, port, clients, rate, limit, stopFile, out = sys.argv[1:]
    results: list[list[object]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + float(limit)

    def client(number: int) -> None:
        sent = 0
        due = time.monotonic()
        while time.monotonic() < deadline and not os.path.exists(stopFile):
            request = f"c{number}-{sent}"
            start = time.monotonic()
            answer, error = transaction(host, int(port), request)
            with lock:
                results.append([request, start, time.monotonic(), answer, error])
            sent += 1
            due += 1 / float(rate)
            time.sleep(max(0.0, due - time.monotonic()))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(int(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(out, "w") as f:
        for result in results:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

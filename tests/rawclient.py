#!/usr/bin/env python3
"""rawclient.py — speaks the control protocol byte by byte, for the tests
that send what kipctl never would.

  rawclient.py SOCKET json TEXT        one frame with TEXT, prints the reply
  rawclient.py SOCKET length N [BYTES] a header announcing N bytes, then
                                       BYTES (default none); prints the reply
  rawclient.py SOCKET slow SECONDS     half a frame, then waits; prints
                                       "closed" if the daemon hangs up
"""
import socket
import struct
import sys
import time


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_reply(s):
    hdr = recv_exact(s, 4)
    if hdr is None:
        return "closed"
    (n,) = struct.unpack(">I", hdr)
    body = recv_exact(s, n)
    return body.decode() if body is not None else "closed"


def main():
    path, mode = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    if mode == "json":
        data = sys.argv[3].encode()
        s.sendall(struct.pack(">I", len(data)) + data)
        print(read_reply(s))
    elif mode == "length":
        extra = sys.argv[4].encode() if len(sys.argv) > 4 else b""
        s.sendall(struct.pack(">I", int(sys.argv[3])) + extra)
        print(read_reply(s))
    elif mode == "slow":
        s.sendall(struct.pack(">I", 100) + b'{"kip":1,')
        time.sleep(float(sys.argv[3]))
        try:
            s.sendall(b" " * 91)
            print(read_reply(s))
        except (BrokenPipeError, ConnectionResetError):
            print("closed")
    else:
        sys.exit("unknown mode")


if __name__ == "__main__":
    main()

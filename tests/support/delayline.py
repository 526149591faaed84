"""A user-space stand-in for ``tc netem delay D loss L``: holds queued packets, drops some.

Kernels built without ``sch_netem`` (this machine's has none) still have NFQUEUE: an iptables
rule hands each matching packet to a netlink queue, and this program gives the verdicts:
``DROP`` at once for a share ``loss`` of them, ``ACCEPT`` the others ``delay`` seconds after
they arrived, in order. Standard library only, run inside the host's network namespace:

    ip netns exec web1 python delayline.py --queue 0 --delay 0.2 --loss 0.05
    ip netns exec web1 iptables -A OUTPUT -o back -j NFQUEUE --queue-num 0 --queue-bypass

It prints ``ready`` once bound, and stops on SIGTERM (queued packets are dropped then; TCP
sends them again).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
SO_RCVBUFFORCE = 33
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG, NFQNL_MSG_VERDICT_BATCH = 0, 1, 2, 3
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK, NFQA_CFG_FLAGS = 1, 2, 3, 4, 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_GSO = 1, 4
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_DROP, NF_ACCEPT = 0, 1
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
_NLMSG = struct.Struct("=IHHII")
_NFGEN = struct.Struct("=BBH")
_ATTR = struct.Struct("=HH")


def _attr(kind: int, payload: bytes) -> bytes:
    data = _ATTR.pack(_ATTR.size + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


def _message(kind: int, queue: int, attrs: bytes, flags: int = NLM_F_REQUEST) -> bytes:
    body = _NFGEN.pack(socket.AF_UNSPEC, 0, socket.htons(queue)) + attrs
    return _NLMSG.pack(_NLMSG.size + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body


def _packet_ids(data: bytes) -> list[int]:
    """Ids of the queued packets in a netlink datagram; raise on an error answer."""
    ids = []
    offset = 0
    while offset + _NLMSG.size <= len(data):
        length, kind, _, _, _ = _NLMSG.unpack_from(data, offset)
        if length < _NLMSG.size:
            break
        if kind == NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", data, offset + _NLMSG.size)
            if code:
                raise OSError(-code, os.strerror(-code))
        elif kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            at = offset + _NLMSG.size + _NFGEN.size
            while at + _ATTR.size <= offset + length:
                size, attr = _ATTR.unpack_from(data, at)
                if size < _ATTR.size:
                    break
                if attr & 0x3FFF == NFQA_PACKET_HDR:
                    ids.append(struct.unpack_from("!I", data, at + _ATTR.size)[0])
                at += size + (-size % 4)
        offset += length + (-length % 4)
    return ids


def run(queue: int, delay: float, loss: float) -> None:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
    sock.bind((0, 0))
    config = [
        _attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, 0)),
        _attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))
        + _attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 65536))
        + _attr(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO))
        + _attr(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO)),
    ]
    for attrs in config:
        sock.send(_message(NFQNL_MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK))
        _packet_ids(sock.recv(65536))  # the ack: raises if the kernel refused
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: stopping.append(signum))
    print("ready", flush=True)
    held: collections.deque[tuple[float, int]] = collections.deque()
    while not stopping:
        wait = max(0.0, held[0][0] - time.monotonic()) if held else 0.5
        readable, _, _ = select.select([sock], [], [], wait)
        if readable:
            try:
                data = sock.recv(1 << 20)
            except OSError:  # ENOBUFS: verdicts for the lost messages never come; fail-open
                continue
            now = time.monotonic()
            for packet_id in _packet_ids(data):
                if random.random() < loss:
                    verdict = struct.pack("!II", NF_DROP, packet_id)
                    sock.send(_message(NFQNL_MSG_VERDICT, queue, _attr(NFQA_VERDICT_HDR, verdict)))
                else:
                    held.append((now + delay, packet_id))
        now = time.monotonic()
        last = None
        while held and held[0][0] <= now:
            last = held.popleft()[1]
        if last is not None:  # every held packet up to this id is due: one batch verdict
            verdict = struct.pack("!II", NF_ACCEPT, last)
            sock.send(_message(NFQNL_MSG_VERDICT_BATCH, queue, _attr(NFQA_VERDICT_HDR, verdict)))
    sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--queue", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds")
    parser.add_argument("--loss", type=float, default=0.0, help="share dropped, 0-1")
    args = parser.parse_args()
    run(args.queue, args.delay, args.loss)
    sys.exit(0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Parks N phones in key generation on a capfd and reports its memory.

Each phone completes TLS, answers AUTH_REQUEST with the null string, receives
KEY_GEN_REQUEST, sends REQUEST_IN_PROGRESS and then holds the session open,
as a fleet of old phones generating keys does. With all of them parked it
reads capfd's resident memory (/proc/PID/status) and its active-session count
(capfctl stats), then closes every connection. Prints one JSON line.

Usage: park_sessions.py HOST PORT COUNT FIRST_MAC CAPFD_PID CAPFCTL SOCKET
"""
import asyncio
import json
import resource
import ssl
import struct
import subprocess
import sys
import time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first_mac, capfd_pid, capfctl, sock = int(sys.argv[4], 16), int(sys.argv[5]), sys.argv[6], sys.argv[7]
CONNECTING_AT_ONCE = 64  # bounded: the point is sessions held, not a connection storm

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2


def frame(command, session_id, elements):
    body = b"".join(bytes([tag]) + struct.pack(">H", len(v)) + v for tag, v in elements)
    return bytes([0x55, command]) + struct.pack(">IH", session_id, len(body)) + body


async def read_message(reader):
    header = await reader.readexactly(8)
    _, command, session_id, length = struct.unpack(">BBIH", header)
    await reader.readexactly(length)
    return command, session_id


def memory_kib(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
    return fields


async def main():
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
    release = asyncio.Event()
    parked, failures = [], []

    async def park(i):
        name = f"SEP{first_mac + i:012X}".encode() + b"\0"
        try:
            async with gate:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port, ssl=ctx), 120)
                command, sid = await asyncio.wait_for(read_message(reader), 120)
                assert command == 1, f"expected AUTH_REQUEST, got {command}"
                writer.write(frame(2, sid, [(7, b"\x03"), (13, name), (11, b"\x00")]))
                command, sid = await asyncio.wait_for(read_message(reader), 120)
                assert command == 3, f"expected KEY_GEN_REQUEST, got {command}"
                writer.write(frame(17, sid, []))
                await writer.drain()
            parked.append(writer)
            await release.wait()
            writer.close()
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            failures.append(f"{name[:-1].decode()}: {type(e).__name__}: {e}")

    started = time.monotonic()
    tasks = [asyncio.create_task(park(i)) for i in range(count)]
    while len(parked) + len(failures) < count:
        await asyncio.sleep(0.2)
    parked_after = time.monotonic() - started
    await asyncio.sleep(1)  # let capfd settle before reading its memory
    memory = memory_kib(capfd_pid)
    stats = json.loads(subprocess.run([capfctl, "--socket", sock, "--json", "stats"],
                                      check=True, capture_output=True, text=True).stdout)
    release.set()
    await asyncio.gather(*tasks)
    print(json.dumps({
        "parked": len(parked), "failed": len(failures), "failures": failures[:5],
        "seconds_to_park": round(parked_after, 1),
        "capfd_rss_kib": memory.get("VmRSS"), "capfd_peak_rss_kib": memory.get("VmHWM"),
        "sessions_active": stats["sessions"]["active"],
    }))


asyncio.run(main())

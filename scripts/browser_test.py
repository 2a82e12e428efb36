#!/usr/bin/env python3
"""Drives headless Chromium through the DevTools protocol (standard library only): opens the
Osusume page, picks three favourites by typing in the search box and clicking results, waits for
the recommendations with their "because you liked" lines, opens a similar-titles panel, and saves
a screenshot. Exits non-zero with a message on any failure.

Usage: browser_test.py DEVTOOLS_PORT PAGE_URL SCREENSHOT_PATH
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request

QUERIES = ["toy story", "matrix", "godfather"]


class WebSocket:
    """A minimal RFC 6455 client: text frames out (masked), frames in (any size, fragmented)."""

    def __init__(self, url):
        assert url.startswith("ws://"), url
        hostport, path = url[5:].split("/", 1)
        host, port = hostport.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("DevTools closed the connection during the handshake")
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise RuntimeError(f"websocket handshake failed: {status!r}")
        self.buffer = head.split(b"\r\n\r\n", 1)[1]

    def send(self, text):
        payload = text.encode()
        header = bytearray([0x81])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header.append(0x80 | 126); header += struct.pack(">H", n)
        else:
            header.append(0x80 | 127); header += struct.pack(">Q", n)
        mask = os.urandom(4)
        header += mask
        self.sock.sendall(bytes(header) + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("DevTools connection closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def receive(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 8:
                raise RuntimeError("DevTools closed the websocket")
            if opcode in (9, 10):   # ping / pong: nothing to do for a short session
                continue
            message += data
            if b0 & 0x80:
                return message.decode()


class Page:
    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.receive())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails'].get('text')} in {expression[:80]}")
        return r["result"].get("value")

    def wait_for(self, expression, what, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.1)
        raise RuntimeError(f"timed out after {timeout}s waiting for {what}")

    def click(self, selector):
        """A real mouse click at the centre of the first element matching `selector`."""
        box = self.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e) return null; e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")
        if not box:
            raise RuntimeError(f"nothing to click at {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)


def main():
    port, url, shot = sys.argv[1], sys.argv[2], sys.argv[3]
    deadline = time.time() + 20
    while True:
        try:
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2))
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                break
        except OSError:
            pass
        if time.time() > deadline:
            raise RuntimeError("Chromium's DevTools endpoint did not come up")
        time.sleep(0.2)
    page = Page(WebSocket(pages[0]["webSocketDebuggerUrl"]))
    page.call("Emulation.setDeviceMetricsOverride", width=1280, height=1240, deviceScaleFactor=1, mobile=False)
    page.call("Page.enable")
    page.call("Runtime.enable")
    page.call("Page.navigate", url=url)
    page.wait_for("document.readyState === 'complete' && document.querySelectorAll('#recs .card').length > 0",
                  "the popular and new items on first load")
    page.js("localStorage.clear(); true")

    picked = []
    for q in QUERIES:
        page.click("#search")
        page.js("document.querySelector('#search').value = ''; true")
        page.call("Input.insertText", text=q)
        first = page.wait_for("(() => { const r = document.querySelector('#results.open .result[data-id]');"
                              " return r ? r.dataset.id : null; })()", f"search results for '{q}'")
        page.click("#results.open .result[data-id]")
        picked.append(first)
        page.wait_for(f"[...document.querySelectorAll('#favourites .fav')].some(f => f.dataset.id === {json.dumps(first)})",
                      f"'{q}' to appear among the favourites")
        print(f"picked '{q}' → item {first}")

    want = ",".join(picked)
    page.wait_for(f"document.body.dataset.recsFor === {json.dumps(want)} && document.querySelectorAll('.rec-card').length > 0",
                  "recommendations for the three favourites")
    cards = page.js("""[...document.querySelectorAll('.rec-card')].map(c => ({
        id: c.dataset.id, title: c.querySelector('.title').textContent.trim(),
        slot: c.querySelector('.slot').textContent, because: (c.querySelector('.because') || {}).textContent || '',
        poster: c.querySelector('.poster img').src.slice(0, 30) }))""")
    favourites = page.js("document.querySelectorAll('#favourites .fav').length")
    if favourites != 3:
        raise RuntimeError(f"expected 3 favourites, found {favourites}")
    if len(cards) < 10:
        raise RuntimeError(f"expected at least 10 recommendations, found {len(cards)}")
    if not any(c["because"].startswith("Because you liked") for c in cards):
        raise RuntimeError("no recommendation says which favourite it comes from")
    if set(c["id"] for c in cards) & set(picked):
        raise RuntimeError("a favourite was recommended back")
    if not all(c["poster"].startswith(("data:image/svg+xml", "http")) for c in cards):
        raise RuntimeError("a card has no poster")
    for c in cards[:5]:
        print(f"  [{c['slot']}] {c['title']} — {c['because'] or '(no history reason)'}")

    # Similar titles: click the first card's title, expect the panel to fill, then close it.
    page.click(".rec-card .title")
    page.wait_for("document.querySelector('#similar').classList.contains('open') && document.querySelectorAll('#similar-grid .card').length > 0",
                  "the similar-titles panel")
    similar = page.js("document.querySelectorAll('#similar-grid .card').length")
    print(f"similar titles panel: {similar} items")
    page.click("#similar-close")
    page.wait_for("!document.querySelector('#similar').classList.contains('open')", "the panel to close")

    page.js("window.scrollTo(0, 0); document.activeElement.blur(); true")
    time.sleep(0.3)
    # Scaled to 70 % so the committed PNG stays small.
    png = base64.b64decode(page.call("Page.captureScreenshot", format="png",
                                     clip={"x": 0, "y": 0, "width": 1280, "height": 1240, "scale": 0.7})["data"])
    os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
    with open(shot, "wb") as f:
        f.write(png)
    print(f"screenshot: {shot} ({len(png) // 1024} KB); {len(cards)} recommendations for {len(picked)} favourites")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one clear line for CI logs
        print(f"browser test FAILED: {e}", file=sys.stderr)
        sys.exit(1)

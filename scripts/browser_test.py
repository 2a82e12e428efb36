#!/usr/bin/env python3
"""Drives headless Chromium through the DevTools protocol (standard library only) through the
Osusume page as a person would, and fails with a message when something is wrong:

1. a stale favourite (an id the served models do not know) is named as unavailable and can be
   removed, while the rest of the page works;
2. three favourites picked through the search box (two by mouse, one by keyboard alone);
3. recommendations whose reasons name at most three favourites, slot items giving their slot's
   reason, a plain-words summary, no favourite recommended back;
4. the similar-titles panel (favourites marked), opened and closed with the keyboard, focus
   returning where it was;
5. a desktop (1280×900) and a phone (390×844) viewport, two or more cards per row on the phone,
   no sideways scrolling; a screenshot of each.

Usage: browser_test.py DEVTOOLS_PORT PAGE_URL SCREENSHOT_DIR NAME QUERY1 QUERY2 QUERY3
Screenshots: SCREENSHOT_DIR/NAME-desktop.png and NAME-phone.png.
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request

STALE = {"id": "osusume-test-stale-424242", "title": "A Title Long Gone (1901)", "displayTitle": "A Title Long Gone"}


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

    def key(self, key, code=None, vk=0):
        """A real key press (down, up) on whatever has the focus."""
        text = "\r" if key == "Enter" else ""
        for kind in ("keyDown", "keyUp"):
            params = dict(type=kind, key=key, code=code or key, windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk)
            if kind == "keyDown" and text:
                params["text"] = text
            self.call("Input.dispatchKeyEvent", **params)

    def click(self, selector):
        """A real mouse click at the centre of the first element matching `selector`."""
        box = self.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e) return null; e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")
        if not box:
            raise RuntimeError(f"nothing to click at {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)


def check(condition, message):
    if not condition:
        raise RuntimeError(message)


def screenshot(page, path, width, height, scale=1.0):
    page.js("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur(); true")
    time.sleep(0.4)
    png = base64.b64decode(page.call("Page.captureScreenshot", format="png",
                                     clip={"x": 0, "y": 0, "width": width, "height": height, "scale": scale})["data"])
    with open(path, "wb") as f:
        f.write(png)
    print(f"screenshot: {path} ({len(png) // 1024} KB)")


CARDS = """[...document.querySelectorAll('.rec-card')].map(c => ({
    id: c.dataset.id, title: c.querySelector('.title').textContent.trim(),
    slot: c.querySelector('.slot').textContent, because: (c.querySelector('.because') || {}).textContent || '',
    named: c.querySelectorAll('.because b').length,
    poster: c.querySelector('.poster img').src.slice(0, 30),
    rect: (r => [r.left, r.top, r.width])(c.getBoundingClientRect()) }))"""


def desktop(page):
    page.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)


def main():
    port, url, shots, name = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    queries = sys.argv[5:8]
    os.makedirs(shots, exist_ok=True)
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
    desktop(page)
    page.call("Page.enable")
    page.call("Runtime.enable")
    page.call("Page.navigate", url=url)
    page.wait_for("document.readyState === 'complete' && document.querySelectorAll('#recs .card').length > 0",
                  "the popular and new items on first load")
    check(page.js("document.querySelector('#clear').hidden"), "'Clear favourites' shows with no favourites")

    # 1. A stale favourite, as left in the browser by an earlier model: named, removable, page works.
    page.js(f"localStorage.setItem('osusume.favourites', JSON.stringify([{json.dumps(STALE)}])); true")
    page.call("Page.reload")
    page.wait_for("document.readyState === 'complete' && !document.querySelector('#recs-ignored').hidden", "the stale favourite's note")
    note = page.js("document.querySelector('#recs-ignored').textContent")
    check(STALE["displayTitle"] in note, f"the stale favourite is not named: {note!r}")
    check(page.js("document.querySelectorAll('#favourites .fav.gone').length") == 1, "the stale favourite is not marked in the list")
    check(page.js("document.querySelectorAll('.rec-card').length") >= 10, "a stale favourite blanked the recommendations")
    print(f"stale favourite: '{note.strip()}'")
    page.click("#remove-ignored")
    page.wait_for("document.querySelectorAll('#favourites .fav').length === 0 && document.querySelector('#recs-ignored').hidden",
                  "the stale favourite to be removed")

    # 2. Three favourites: two with the mouse, the last with the keyboard alone.
    picked = []
    for n, q in enumerate(queries):
        page.js("(() => { const s = document.querySelector('#search'); s.value = ''; s.focus(); return true; })()")
        page.call("Input.insertText", text=q)
        first = page.wait_for("(() => { const r = document.querySelector('#results.open .result[data-id]');"
                              " return r ? r.dataset.id : null; })()", f"search results for '{q}'")
        if n < len(queries) - 1:
            page.click("#results.open .result[data-id]")
            how = "mouse"
        else:
            page.key("ArrowDown", vk=40)
            active = page.js("(document.querySelector('.result.active') || {}).dataset?.id")
            check(active == first, f"ArrowDown did not select the first result ({active!r})")
            page.key("Enter", vk=13)
            how = "keyboard"
        picked.append(first)
        page.wait_for(f"[...document.querySelectorAll('#favourites .fav')].some(f => f.dataset.id === {json.dumps(first)})",
                      f"'{q}' to appear among the favourites")
        print(f"picked '{q}' → item {first} ({how})")

    # 3. Recommendations and their reasons.
    want = ",".join(picked)
    page.wait_for(f"document.body.dataset.recsFor === {json.dumps(want)} && document.querySelectorAll('.rec-card').length > 0",
                  "recommendations for the three favourites")
    cards = page.js(CARDS)
    check(page.js("document.querySelectorAll('#favourites .fav').length") == 3, "expected 3 favourites")
    check(not page.js("document.querySelector('#clear').hidden"), "'Clear favourites' is hidden with favourites")
    check(len(cards) >= 10, f"expected at least 10 recommendations, found {len(cards)}")
    check(not set(c["id"] for c in cards) & set(picked), "a favourite was recommended back")
    check(all(c["poster"].startswith(("data:image/svg+xml", "http")) for c in cards), "a card has no poster")
    personal = [c for c in cards if c["slot"] == "personal"]
    check(personal and any(c["because"].startswith("Because you liked") for c in personal),
          "no personal recommendation says which favourite it comes from")
    check(all(c["named"] <= 3 for c in cards), "a reason names more than three favourites")
    for c in cards:
        if c["slot"] != "personal":
            check(not c["because"].startswith("Because you liked"), f"a {c['slot']} item claims to come from the favourites: {c}")
    summary = page.js("document.querySelector('#how-text').textContent")
    check(summary and ":0." not in summary and "zscore" not in summary, f"the summary is not plain words: {summary!r}")
    named_all = sum(1 for c in personal if c["named"] == 3)
    print(f"{len(cards)} recommendations ({len(personal)} personal, {named_all} naming all three favourites); summary: {summary}")
    for c in cards[:6]:
        print(f"  [{c['slot']}] {c['title']} — {c['because'] or '(no reason shown)'}")
    screenshot(page, os.path.join(shots, f"{name}-desktop.png"), 1280, 900, scale=0.75)

    # 4. Similar titles with the keyboard: Enter on a card's title opens the panel with the focus
    # on Close; Escape closes it and gives the focus back to the title.
    page.js("(() => { document.querySelector('.rec-card .title').focus(); return true; })()")
    page.key("Enter", vk=13)
    page.wait_for("document.querySelector('#similar').classList.contains('open') && document.querySelectorAll('#similar-grid .card').length > 0",
                  "the similar-titles panel")
    check(page.js("document.activeElement.id") == "similar-close", "the panel did not take the keyboard focus")
    marks = page.js(f"""(() => {{ const fav = new Set({json.dumps(picked)});
        return [...document.querySelectorAll('#similar-grid .card')].map(c => [fav.has(c.dataset.id), !!c.querySelector('.fav-mark')]); }})()""")
    check(all(a == b for a, b in marks), f"favourites are not marked (exactly) in the similar panel: {marks}")
    print(f"similar panel: {len(marks)} items, {sum(a for a, _ in marks)} of them favourites (marked)")
    page.key("Escape", vk=27)
    page.wait_for("!document.querySelector('#similar').classList.contains('open')", "Escape to close the panel")
    check(page.js("document.activeElement === document.querySelector('.rec-card .title')"), "focus did not return to the card")
    # A favourite's own panel offers no dead "Add" button.
    page.js(f"showSimilar({{id: {json.dumps(picked[0])}, title: 'x', genres: []}}); true")
    page.wait_for("document.querySelector('#similar').classList.contains('open')", "the favourite's panel")
    check(page.js("document.querySelector('#similar-add').hidden && !document.querySelector('#similar-in').hidden"),
          "a favourite's panel still offers 'Add to favourites'")
    page.key("Escape", vk=27)
    page.wait_for("!document.querySelector('#similar').classList.contains('open')", "the panel to close")

    # 5. A phone: two or more cards per row, nothing wider than the screen.
    page.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=1, mobile=True)
    page.call("Page.reload")
    page.wait_for(f"document.readyState === 'complete' && document.body.dataset.recsFor === {json.dumps(want)} && document.querySelectorAll('.rec-card').length > 0",
                  "recommendations on the phone")
    time.sleep(0.3)
    cards = page.js(CARDS)
    per_row = sum(1 for c in cards if abs(c["rect"][1] - cards[0]["rect"][1]) < 1)
    width = page.js("document.documentElement.scrollWidth")
    check(per_row >= 2, f"{per_row} card per row at 390 px wide")
    check(width <= 390, f"the page is {width} px wide on a 390 px screen (sideways scrolling)")
    print(f"phone 390×844: {per_row} cards per row, card width {cards[0]['rect'][2]:.0f} px, page width {width} px")
    screenshot(page, os.path.join(shots, f"{name}-phone.png"), 390, 844)
    desktop(page)
    print(f"browser test ({name}): all checks passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one clear line for CI logs
        print(f"browser test FAILED: {e}", file=sys.stderr)
        sys.exit(1)

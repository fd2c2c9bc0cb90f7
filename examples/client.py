#!/usr/bin/env python3
"""client.py - drive a deskfs desktop from Python with the standard library.

    python3 examples/client.py /mnt/desk [SESSION]     (the mount: deskfs /mnt/desk)
"""
import json, os, sys

mnt = sys.argv[1]
s = os.path.join(mnt, sys.argv[2] if len(sys.argv) > 2 else "py-client")
os.mkdir(s)  # a new desktop session; its files wait until it is ready
try:
    with open(os.path.join(s, "screenshot.png"), "rb") as f:
        png = f.read()
    with open("screenshot.png", "wb") as f:
        f.write(png)
    print("screenshot.png:", len(png), "bytes")

    def act(action):  # one action per line; a refused one raises OSError
        with open(os.path.join(s, "actions"), "w") as f:
            f.write(json.dumps(action) + "\n")

    act({"action": "left_click", "coordinate": [100, 100]})  # Anthropic's computer tool
    act({"type": "type", "text": "hello"})                    # OpenAI computer-use
    act({"type": "keypress", "keys": ["ctrl", "a"]})
    with open(os.path.join(s, "observation.json")) as f:
        obs = json.load(f)
    print("screen", obs["screen"], "cursor", obs["cursor"])
    print("last action:", obs["last_receipt"]["action"])
finally:
    os.rmdir(s)  # the session ends, nothing of it keeps running

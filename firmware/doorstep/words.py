"""What the door display says, in words the person at the door reads.

One table for the firmware (screen.py on the SSD1306) and the simulator, so the words
tested on the host are the words at the door. A line holds 16 characters (128 px, 8 px font).
"""

WIDTH = 16
ROWS = 8

# feedback name -> text; %d is the lockout's seconds (only in the locked ones)
VERDICTS = {
    "accepted": "Code accepted",
    "wrong": "Wrong code",
    "wrong_locked": "Wrong code. Locked for %d s",
    "locked": "Locked for %d s",
    "refused": "Refused: intercom in use",
    "fail_closed": "Out of order: codes refused",
    "timeout": "Too slow: type the code again",
}
PROMPT = "Handover: type the parcel number, then #"
CODE_FOR = "Code for %s:"


def wrap(text, width=WIDTH):
    """Lines of at most width characters, broken at spaces where it can."""
    out = []
    for word in text.split(" "):
        while len(word) > width:
            if out and len(out[-1]) < width - 1:
                cut = width - len(out[-1]) - 1
                out[-1] = out[-1] + " " + word[:cut]
                word = word[cut:]
            else:
                out.append(word[:width])
                word = word[width:]
        if not word:
            continue
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] = out[-1] + " " + word
        else:
            out.append(word)
    return out[:ROWS]


def verdict(name, seconds=0):
    """The lines for a feedback name, or None when it has no words (a key click)."""
    text = VERDICTS.get(name)
    if text is None:
        return None
    if "%d" in text:
        text = text % seconds
    return wrap(text)


def code_lines(label, code):
    """The carrier code, alone on its own line(s) below its label."""
    return wrap(CODE_FOR % label) + [""] + wrap(code)

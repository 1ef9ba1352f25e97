"""Intercom audio for the virtual board: DTMF tones as 8 kHz 16-bit PCM blocks."""

import math

from doorstep.dtmf import COLS, KEYS, ROWS

RATE = 8000


def tone(digit, ms=60, amp=8000):
    i = KEYS.index(digit)
    f1, f2 = ROWS[i // 4], COLS[i % 4]
    n = RATE * ms // 1000
    w1, w2 = 2 * math.pi * f1 / RATE, 2 * math.pi * f2 / RATE
    return [int(amp * (math.sin(w1 * k) + math.sin(w2 * k)) / 2) for k in range(n)]


def dtmf_pcm(digits, tone_ms=60, gap_ms=60, block=400):
    """PCM for a digit sequence, cut into blocks as an I2S microphone would deliver it."""
    pcm = []
    for d in digits:
        pcm += tone(d, tone_ms)
        pcm += [0] * (RATE * gap_ms // 1000)
    return [pcm[i : i + block] for i in range(0, len(pcm), block)]

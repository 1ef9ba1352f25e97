"""Ledger durability: a power cut at every byte of a record write loses no completed record."""

from doorstep.ledger import Ledger, ZERO_HASH, line_hash
from doorstep.storage import Storage
from fakes import CutStorage, PowerCut, tmpdir


def line(seq, prev, pad=0):
    return ('{"ev":"ring","pad":"%s","prev":"%s","seq":%d,"sig":"%s"}' % ("x" * pad, prev, seq, "ab" * 64)).encode()


def fill(led, n):
    for _ in range(n):
        led.append(line(led.next_seq, led.head))


def scenario_append_and_reopen():
    root = tmpdir()
    led = Ledger(Storage(root))
    assert led.next_seq == 0 and led.head == ZERO_HASH
    fill(led, 5)
    head = led.head
    led2 = Ledger(Storage(root))
    assert led2.next_seq == 5 and led2.head == head and led2.torn is None


def scenario_segments_roll_over_in_name_order():
    root = tmpdir()
    st = Storage(root)
    led = Ledger(st)
    led.per_segment = 4
    fill(led, 10)
    assert st.listdir("records") == ["00000000.jsonl", "00000004.jsonl", "00000008.jsonl"]
    led2 = Ledger(Storage(root))
    led2.per_segment = 4
    assert led2.next_seq == 10 and led2.head == led.head


def scenario_power_cut_at_every_byte():
    nxt = line(3, "0" * 64)
    total = len(nxt) + 1  # with its newline
    for n in range(0, total + 1):
        root = tmpdir()
        led = Ledger(Storage(root))
        fill(led, 3)
        head3 = led.head
        cut = CutStorage(root, budget=n)
        led_c = Ledger(cut)
        try:
            led_c.append(line(3, head3))
            done = True
        except Exception as e:  # the wrapper raises PowerCut through the ledger
            assert isinstance(e, PowerCut) or "PowerCut" in repr(e), e
            done = False
        # power back: a fresh boot over the same flash
        led2 = Ledger(Storage(root))
        if n >= total:
            assert done and led2.next_seq == 4 and led2.torn is None, n
        elif n == 0:
            assert led2.next_seq == 3 and led2.torn is None and led2.head == head3, n
        else:
            assert led2.next_seq == 3 and led2.head == head3, n
            assert led2.torn["bytes"] == n, (n, led2.torn)
            st = Storage(root)
            assert st.read(led2.torn["file"]) == (line(3, head3) + b"\n")[:n]
            # the next record continues the chain right after the last complete one
            led2.append(line(3, led2.head))
            led3 = Ledger(Storage(root))
            assert led3.next_seq == 4 and led3.torn is None


def scenario_cut_while_quarantining_is_redone():
    root = tmpdir()
    led = Ledger(Storage(root))
    fill(led, 2)
    st = Storage(root)
    with st.open("records/00000000.jsonl", "ab") as f:
        f.write(b'{"torn')
    for budget in range(0, 40, 3):
        try:
            Ledger(CutStorage(root, budget))
        except Exception:
            pass
    led2 = Ledger(Storage(root))
    assert led2.next_seq == 2
    assert st.read("records/00000000.jsonl").endswith(b"}\n")


def scenario_invalid_tail_is_quarantined():
    root = tmpdir()
    led = Ledger(Storage(root))
    fill(led, 3)
    st = Storage(root)
    with st.open("records/00000000.jsonl", "ab") as f:
        f.write(line(7, "f" * 64) + b"\n")  # complete line, wrong seq and prev
    led2 = Ledger(Storage(root))
    assert led2.next_seq == 3 and led2.torn["bytes"] == len(line(7, "f" * 64)) + 1


def scenario_failed_write_is_cut_before_next():
    root = tmpdir()
    cut = CutStorage(root)
    led = Ledger(cut)
    fill(led, 2)
    cut.budget = 10
    try:
        led.append(line(2, led.head))
    except Exception:
        pass
    cut.budget = None  # space is back
    led.dirty = True
    led.append(line(2, led.head))
    assert led.torn["bytes"] == 10
    led2 = Ledger(Storage(root))
    assert led2.next_seq == 3 and led2.torn is None


def scenario_line_hash_is_sha256_hex():
    assert line_hash(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

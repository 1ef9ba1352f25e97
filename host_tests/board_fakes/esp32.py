"""A fake `esp32` module for host tests: the ESP-IDF heap report used by hw.ram(), and the
partition table (esp32.Partition) whose flags the posture reads."""

HEAP_DATA = 4
HEAP_EXEC = 1

# (total, free, largest free block, least free ever) per region; tests may replace it.
heap = [(180000, 120000, 65536, 110000), (4000000, 3800000, 3700000, 3700000)]


def idf_heap_info(capabilities):
    return list(heap)


class Partition:
    TYPE_APP = 0
    TYPE_DATA = 1
    # (label, type, subtype, encrypted); tests may replace it
    table = [("factory", 0, 0, False), ("vfs", 1, 129, False)]

    def __init__(self, row):
        self.row = row

    def info(self):
        label, kind, sub, enc = self.row
        return (kind, sub, 0x200000, 0x200000, label, enc)

    @staticmethod
    def find(type=0, subtype=0xFF, label=None):
        return [Partition(r) for r in Partition.table
                if r[1] == type and (subtype == 0xFF or r[2] == subtype) and (label is None or r[0] == label)]

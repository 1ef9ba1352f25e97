"""A fake `esp32` module for host tests: the ESP-IDF heap report used by hw.ram()."""

HEAP_DATA = 4
HEAP_EXEC = 1

# (total, free, largest free block, least free ever) per region; tests may replace it.
heap = [(180000, 120000, 65536, 110000), (4000000, 3800000, 3700000, 3700000)]


def idf_heap_info(capabilities):
    return list(heap)

"""How well this chip keeps the device key: the `posture` that genesis and boot records state.

Read from the chip, never assumed. Flash encryption and secure boot come from the eFuse
read registers (addresses and bits from Espressif's efuse_reg.h for each chip); whether the
file system that holds key.bin is itself encrypted comes from its partition's flag
(esp32.Partition.info()[5]): the app partition is encrypted whenever flash encryption is on,
a data partition only when the partition table says so. What cannot be read is "unknown".
"""

# Chip (as MicroPython names its MCU) -> (eFuse word with the flash-encryption counter, its
# shift, its width; eFuse word with the secure-boot bit(s), their mask). Encryption is on when
# the counter has an odd number of bits set.
EFUSE = {
    # ESP32: EFUSE_BLK0_RDATA0 FLASH_CRYPT_CNT [26:20]; EFUSE_BLK0_RDATA6 ABS_DONE_0 (bit 4,
    # secure boot v1) | ABS_DONE_1 (bit 5, secure boot v2).
    "esp32": (0x3FF5A000, 20, 7, 0x3FF5A018, 0x30),
    # ESP32-S3: EFUSE_RD_REPEAT_DATA1 SPI_BOOT_CRYPT_CNT [20:18]; EFUSE_RD_REPEAT_DATA2
    # SECURE_BOOT_EN (bit 20).
    "esp32s3": (0x60007034, 18, 3, 0x60007038, 1 << 20),
}
FS_LABEL = "vfs"  # MicroPython's file system partition
SIM = {"hw": "sim", "production": False, "flash_enc": False, "secure_boot": False}


def mcu(machine_name):
    """'Freenove ESP32S3 CAM with ESP32S3' (os.uname().machine) -> 'esp32s3', else None."""
    if not isinstance(machine_name, str) or " with " not in machine_name:
        return None
    return machine_name.rsplit(" with ", 1)[1].strip().lower() or None


def read(production, machine_name, mem32, find_partition):
    """The posture dict. mem32: machine.mem32; find_partition: esp32.Partition.find (or None)."""
    chip = mcu(machine_name)
    out = {"hw": chip or "unknown", "production": bool(production), "flash_enc": "unknown", "secure_boot": "unknown"}
    regs = EFUSE.get(chip)
    if regs is None or mem32 is None:
        return out
    crypt_at, shift, width, boot_at, boot_mask = regs
    try:
        cnt = (mem32[crypt_at] >> shift) & ((1 << width) - 1)
        out["secure_boot"] = bool(mem32[boot_at] & boot_mask)
    except Exception:  # noqa: BLE001  -- a port without readable eFuses: say so, never guess
        return out
    odd = 0
    while cnt:
        odd ^= cnt & 1
        cnt >>= 1
    if not odd:
        out["flash_enc"] = False
        return out
    fs = _fs_encrypted(find_partition)
    out["flash_enc"] = "unknown" if fs is None else fs
    return out


def _fs_encrypted(find_partition):
    if find_partition is None:
        return None
    try:
        parts = find_partition(1, 0xFF, FS_LABEL)  # TYPE_DATA, any subtype
        return bool(parts[0].info()[5]) if parts else None
    except Exception:  # noqa: BLE001
        return None


def here(production):
    """This chip's posture; SIM where there is no `machine` module (the simulator on a PC)."""
    try:
        import machine
    except ImportError:
        d = dict(SIM)
        d["production"] = bool(production)
        return d
    import os

    try:
        import esp32

        find = esp32.Partition.find
    except (ImportError, AttributeError):
        find = None
    uname = getattr(os, "uname", None)
    return read(production, uname().machine if uname else None, getattr(machine, "mem32", None), find)

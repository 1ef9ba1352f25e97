# Type stub for the `camera` C module of micropython-camera-API (the part Doorstep uses).
# No stub is published for it; this follows the module's documented constructor and methods.

class PixelFormat:
    RGB565: int
    YUV422: int
    YUV420: int
    GRAYSCALE: int
    JPEG: int
    RGB888: int
    RAW: int
    RGB444: int
    RGB555: int

class FrameSize:
    R96X96: int
    QQVGA: int
    QCIF: int
    HQVGA: int
    R240X240: int
    QVGA: int
    CIF: int
    HVGA: int
    VGA: int
    SVGA: int
    XGA: int
    HD: int
    SXGA: int
    UXGA: int
    FHD: int

class GrabMode:
    WHEN_EMPTY: int
    LATEST: int

class Camera:
    def __init__(
        self,
        *,
        data_pins: list[int] | None = ...,
        pclk_pin: int | None = ...,
        vsync_pin: int | None = ...,
        href_pin: int | None = ...,
        sda_pin: int | None = ...,
        scl_pin: int | None = ...,
        xclk_pin: int | None = ...,
        xclk_freq: int = ...,
        powerdown_pin: int = ...,
        reset_pin: int = ...,
        pixel_format: int = ...,
        frame_size: int = ...,
        jpeg_quality: int = ...,
        fb_count: int = ...,
        grab_mode: int = ...,
        init: bool = ...,
    ) -> None: ...
    def init(self) -> None: ...
    def deinit(self) -> None: ...
    def capture(self) -> memoryview | None: ...
    def frame_available(self) -> bool: ...
    def free_buffer(self) -> None: ...
    @property
    def frame_size(self) -> int: ...
    @frame_size.setter
    def frame_size(self, value: int) -> None: ...
    def set_frame_size(self, value: int) -> None: ...
    def reconfigure(
        self,
        *,
        frame_size: int | None = ...,
        pixel_format: int | None = ...,
        grab_mode: int | None = ...,
        fb_count: int | None = ...,
    ) -> None: ...

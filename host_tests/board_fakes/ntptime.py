"""A fake micropython-lib `ntptime` for host tests: time() answers with `answer` (seconds
in the port's epoch) or raises OSError when it is None, like a server that never replies."""

host = "pool.ntp.org"
timeout = 1
answer = None
asked = []


def time():
    asked.append(host)
    if answer is None:
        raise OSError(110)  # ETIMEDOUT
    return answer

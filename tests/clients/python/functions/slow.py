"""A function slower than the server is willing to wait."""

import time


def handler(event, context):
    time.sleep(2.0)
    return event

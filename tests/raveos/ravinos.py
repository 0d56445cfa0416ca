"""A stand-in for RaveOS's own `ravinos` module, which exists only inside
RaveOS, written from its custom-mining README: the task's configuration
from $RAVINOS_CONFIG, the statistics object from $RAVINOS_STATS and back
to $RAVINOS_STATS_OUT, run() executing the command line it is given."""

import json
import os
import shlex
import sys
import urllib.request


def get_config():
    with open(os.environ["RAVINOS_CONFIG"]) as f:
        return json.load(f)


def run(commandline):
    args = shlex.split(commandline)
    os.execv(args[0], args)


def get_stats():
    with open(os.environ["RAVINOS_STATS"]) as f:
        return json.load(f)


def set_stats(stats):
    with open(os.environ["RAVINOS_STATS_OUT"], "w") as f:
        json.dump(stats, f)


def get_http_data(url):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read().decode()


def info(text):
    print(text)


def error(text):
    print(text, file=sys.stderr)
    sys.exit(1)

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("strongbox")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0"

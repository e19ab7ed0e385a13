def __getattr__(name: str):
    # The version is looked up when asked for: importlib.metadata costs 5 MB in every process that imports the
    # package, `strongbox serve`'s supervising parent included, which never asks.
    if name != "__version__":
        raise AttributeError(name)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("strongbox")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0"

"""List, pre-fetch and verify the course's datasets.

  course data list                 every dataset, its licence and where it would come from now
  course data fetch mnist imdb     download (or copy from COURSE_DATA_MIRROR) into the cache
  course data fetch --all          everything, before a lab session without a network
  course data verify               re-check every cached file against its published checksum
  course data describe NAME        origin, size, checksums and licence of one dataset

The cache is COURSE_DATA_CACHE (default $KERAS_HOME/datasets or ~/.keras/datasets); --cache
overrides it for one command. Copy a filled cache folder to another machine, or point
COURSE_DATA_MIRROR at it, to use the data there without a network.
"""

from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", metavar="DIR",
                        help="cache folder for this command (default: COURSE_DATA_CACHE)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="every dataset, its licence and where it would come from")
    fetch = actions.add_parser("fetch", help="download datasets into the cache")
    fetch.add_argument("names", nargs="*", metavar="NAME", help="datasets to fetch")
    fetch.add_argument("--all", action="store_true", help="fetch every dataset")
    actions.add_parser("verify", help="re-check every cached file against its checksum")
    describe = actions.add_parser("describe", help="everything known about one dataset")
    describe.add_argument("name", metavar="NAME")


def run(args: argparse.Namespace) -> int:
    if not args.cache:
        return _run(args)
    saved = os.environ.get("COURSE_DATA_CACHE")
    os.environ["COURSE_DATA_CACHE"] = os.path.abspath(os.path.expanduser(args.cache))
    try:
        return _run(args)
    finally:
        if saved is None:
            del os.environ["COURSE_DATA_CACHE"]
        else:
            os.environ["COURSE_DATA_CACHE"] = saved


def _run(args: argparse.Namespace) -> int:
    from course_lib.data.errors import DataError

    action = args.action or "list"
    if action == "list":
        return _list()
    if action == "fetch":
        if not args.names and not args.all:
            raise DataError("name the datasets to fetch (`course data list` shows them), "
                            "or use --all.")
        return _fetch(args.names, args.all)
    if action == "verify":
        return _verify()
    from course_lib.data.info import describe

    print(describe(args.name))
    return 0


def _list() -> int:
    from course_lib.data import registry, sources

    rows = []
    for dataset in registry.DATASETS.values():
        kind, detail = sources.plan(dataset)
        rows.append((dataset.name, dataset.licence, kind, detail))
    widths = [max(len(row[i]) for row in rows + [("NAME", "LICENCE", "SOURCE NOW", "")])
              for i in range(3)]
    print(f"{'NAME':<{widths[0]}}  {'LICENCE':<{widths[1]}}  {'SOURCE NOW':<{widths[2]}}  WHERE")
    for name, licence, kind, detail in rows:
        print(f"{name:<{widths[0]}}  {licence:<{widths[1]}}  {kind:<{widths[2]}}  {detail}")
    print(f"cache: {sources.cache_dir()}   mirror: {os.environ.get(sources.MIRROR_ENV) or '-'}   "
          f"subsets: {os.environ.get(sources.SUBSETS_ENV) or '-'}   "
          f"offline: {'yes' if sources.offline() else 'no'}   "
          f"stand-ins: {'allowed' if sources.standins_allowed() else 'no'}")
    return 0


#: Loaders that build a folder in the cache from the fetched archive: fetch builds it too.
_PREPARE = {"imdb_text": "imdb_text_dir", "jena_climate": "jena_climate_csv",
            "cats_vs_dogs": "cats_vs_dogs_dir", "spa_eng": "load_spa_eng"}


def _fetch(names: list[str], everything: bool) -> int:
    from course_lib.data import registry, sources
    from course_lib.data.errors import DataError, MirrorError

    datasets = list(registry.DATASETS.values()) if everything else [registry.get(n) for n in names]
    sources.mirror()  # a mirror setting that points nowhere stops everything at once
    failed = 0
    for dataset in datasets:
        complete = True
        for remote in dataset.files:
            try:
                path, how = sources.fetch(remote)
            except MirrorError:
                raise
            except DataError as error:
                failed += 1
                complete = False
                print(f"{dataset.name}: {remote.name}: FAILED: {error}")
                continue
            said = {"cache": "already in the cache, verified",
                    "mirror": "copied from the mirror, verified",
                    "download": "downloaded, verified"}[how]
            print(f"{dataset.name}: {remote.name}: {said} ({remote.checks}) -> {path}")
        if complete and dataset.name in _PREPARE:
            from course_lib.data import loaders

            getattr(loaders, _PREPARE[dataset.name])()
    if failed:
        raise DataError(f"{failed} file(s) could not be fetched; the lines above say why.")
    print(f"All {len(datasets)} dataset(s) are in the cache {sources.cache_dir()}.")
    return 0


def _verify() -> int:
    from course_lib.data import download, registry, sources
    from course_lib.data.errors import ChecksumError

    checked = bad = 0
    for dataset in registry.DATASETS.values():
        for remote in dataset.files:
            path = sources.cache_path(remote)
            if not path.is_file():
                continue
            checked += 1
            problem = download.mismatch(remote, download.file_digests(path))
            if problem is None:
                sources.cached(remote)  # refresh the verification stamp
                print(f"ok       {remote.relative_path}  ({remote.checks})")
                continue
            bad += 1
            aside = download.set_aside(path)
            print(f"CORRUPT  {remote.relative_path}: {problem}; moved to {aside}. "
                  f"`course data fetch {dataset.name}` fetches it again.")
    if not checked:
        print(f"No dataset files in the cache {sources.cache_dir()} yet "
              "(`course data fetch NAME` puts them there).")
        return 0
    if bad:
        raise ChecksumError(f"{bad} of {checked} cached file(s) failed their check; they were "
                            "moved aside (see above). Fetch them again.")
    print(f"All {checked} cached file(s) match their published checksums.")
    return 0

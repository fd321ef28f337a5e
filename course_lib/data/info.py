"""``describe(name)``: everything the course knows about a dataset, as text a notebook shows."""

from __future__ import annotations

from course_lib.data import registry, sources


class Description(str):
    """A multi-line description; a notebook cell that ends with it shows the text as is."""

    def __repr__(self) -> str:
        return str(self)


def describe(name: str) -> Description:
    """Origin, size, checksums, licence and where ``name`` would come from on this machine now."""
    dataset = registry.get(name)
    lines = [
        f"{dataset.title} ({dataset.name}): {dataset.summary}",
        f"  used in chapters {dataset.chapters}; {dataset.loader}",
        f"  licence: {dataset.licence}. {dataset.licence_note}",
        f"  home page: {dataset.homepage}",
        "  public files:",
    ]
    for remote in dataset.files:
        size = f"{remote.size:,} bytes" if remote.size is not None else "size not published"
        lines.append(f"    {remote.relative_path}  ({size})  {remote.url}")
        checks = (
            ("SHA-256 ", remote.sha256),
            ("SHA-256 of the decompressed bytes ", remote.content_sha256),
            ("MD5 ", remote.md5),
            ("", remote.hash_note),
        )
        lines.extend(f"      {label}{value}" for label, value in checks if value)
    if dataset.offline_copy:
        lines.append(f"  offline copy: {dataset.offline_copy} (Debian package, checked on load)")
    if dataset.subset:
        digest = dataset.subset.sha256 or "no checksum; its layout is checked"
        lines.append(f"  real subset under {sources.SUBSETS_ENV}: {dataset.subset.path}: "
                     f"{dataset.subset.description} ({digest})")
    kind, detail = sources.plan(dataset)
    lines.append(f"  on this machine now: {kind}: {detail}")
    last = sources.last_source(dataset.name)
    if last is not None:
        lines.append(f"  last loaded: {last.line()}")
    return Description("\n".join(lines))

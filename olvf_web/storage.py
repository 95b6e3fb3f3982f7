"""Static files storage that works both before and after collectstatic."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestIfCollectedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Compressed manifest storage that names unhashed files while no manifest exists.

    collectstatic must run with a manifest storage to write ``staticfiles.json``,
    so this class is used whether or not the manifest exists yet. Until it does,
    a plain manifest storage would raise ValueError for every ``{% static %}``
    and break every page.
    """

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        return super().stored_name(name)

"""Release notes from Conventional Commits: versions, changelogs and Release manifests, offline."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFiles(CompressedManifestStaticFilesStorage):
    """Hashed, compressed static files; `import "./live.js"` in a module is rewritten to
    the hashed name too, so a deploy never pairs a new page script with an old live.js."""

    support_js_module_import_aggregation = True

"""Assembly of rendered clips: frame-exact trims, concatenation with crossfades, audio kept to
the exact video length, and a mandatory-when-configured watermark. Modules: ``clips`` (clip
specs and probing), ``audio`` (the output audio buffer), ``watermark``, ``assemble`` (encode),
``command`` (the ``assemble`` subcommand)."""

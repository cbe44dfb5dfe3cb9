"""Viral Ideas: analyse a creator against competitors and write new hooks and scripts (docs/viral.md).

Modules, in workflow order: ``models`` (jobs, AI output shapes), ``store`` / ``results`` (the
``viral_*`` tables and run checkpoints), ``fetch`` (parallel profile fetch), ``selection`` (pure
reel selection) and ``transcripts`` (driving it), ``prompts`` and ``ai_pipeline`` (the four AI
stages), ``runner`` (one run end to end), ``processor`` (the engine's background processor),
``export`` (Markdown/JSON) and ``api`` (the Python entry points). Submodules are imported on
demand so ``--help`` and control commands stay fast.
"""

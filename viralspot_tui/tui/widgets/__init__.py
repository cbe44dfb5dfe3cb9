"""The dashboard's panes; each one renders a slice of an EngineSnapshot and nothing else."""

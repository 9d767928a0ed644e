"""What sellers take away: export formats, pose-aware framing and renditions kept in storage (docs/api.md,
"Exports")."""

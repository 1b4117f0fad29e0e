"""What every layer shares: HTTP retry policy, redaction, cursors, chunking, bounded JSON parsing."""

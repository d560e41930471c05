"""BG-Coaching ESF reporting pipeline."""

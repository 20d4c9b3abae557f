"""The chat widget and the demo pages that embed it."""

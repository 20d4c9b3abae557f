"""The front door: the only HTTP service the widget and caseworkers talk to."""

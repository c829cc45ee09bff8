"""The Godot-facing tools: installing the addon, the demo village, the Godot web runtime page."""

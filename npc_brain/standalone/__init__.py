"""The standalone sidecar: `npc-brain serve` frozen with PyInstaller into one folder that
holds the model's export and what runs it (numpy, or ONNX Runtime), for games to ship beside
their executable."""

# Where the model lies inside a build, beside the frozen Python modules.
MODEL_FOLDER = "model"

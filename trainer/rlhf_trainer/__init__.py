"""RLHF Studio trainer: REINFORCE++ and sibling estimators in PyTorch."""
__version__ = "0.1.0"

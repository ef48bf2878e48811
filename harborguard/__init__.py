"""harborguard: see what a Harbor tag-retention policy will delete before it does."""

__version__ = "0.1.0"
TOOL = f"harborguard {__version__}"

"""Training errors: domain words only (no torch here), mapped to exit codes by the CLI."""


class TrainingDataError(ValueError):
    """The training data cannot be used; the message names the file and line."""


class ModelTooLargeError(RuntimeError):
    """The model cannot be trained in the memory this device has."""


class OutputExistsError(FileExistsError):
    """The output folder holds an earlier run; the message says to resume or overwrite."""
